import type { BirdEdit, Favourite } from '../../../preload/contract';

/** A direction move in a few words: "+1.5 along SeFa 2 (4-8)". */
export const editLabel = (e: BirdEdit): string =>
  `${e.amount >= 0 ? '+' : ''}${e.amount} along ${e.method === 'sefa' ? 'SeFa' : 'GANSpace'} ${e.direction} (${e.layers})`;

/** What a favourite's bird is: its seed (or "projected" for a latent), its style mix and its edit. */
export function birdLabel(f: Favourite): string {
  const bird = f.seed !== null ? `seed ${f.seed}` : 'projected';
  const mix = f.mixSeed !== null ? ` × ${f.mixSeed} (${f.mixLayers})` : '';
  const edit = f.edit ? ` · moved ${editLabel(f.edit)}` : '';
  return `${bird}${mix}${edit}`;
}

/** A bird that has no single z (a style mix, a latent, a move along a direction) is interpolated in W only. */
export const wOnly = (f: Favourite): boolean => f.mixSeed !== null || f.latent !== null || f.edit !== null;
