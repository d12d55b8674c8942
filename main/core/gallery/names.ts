/**
 * Made-up Latin binomials for favourites ("Avis fictitia"): a genus from two syllables and an
 * epithet that agrees with its gender. Deterministic from the seed, so the same bird is offered
 * the same name on every machine; the user may edit it.
 */
import { whyUnsafeText } from '../util/text.js';
import { MAX_NAME_LENGTH, MAX_NOTE_LENGTH } from './limits.js';

const GENUS_STEMS = [
  'Av',
  'Plum',
  'Corv',
  'Strig',
  'Penn',
  'Alaud',
  'Turd',
  'Fringill',
  'Pic',
  'Ciconi',
  'Merul',
  'Ard',
  'Column',
  'Passer',
  'Hirund',
  'Cygn',
  'Aquil',
  'Falc',
  'Grall',
  'Sylv',
  'Lusc',
  'Orn',
  'Ptil',
  'Nebul',
  'Somn',
  'Umbr',
  'Lun',
  'Caud',
  'Rostr',
  'Vol',
] as const;

/** Genus endings with the gender an epithet must agree with. */
const GENUS_ENDINGS = [
  ['a', 'f'],
  ['ella', 'f'],
  ['ula', 'f'],
  ['ina', 'f'],
  ['us', 'm'],
  ['ulus', 'm'],
  ['ornis', 'f'],
  ['icola', 'f'],
  ['ium', 'n'],
] as const;

/** First/second-declension adjective stems: -us (m), -a (f), -um (n). */
const EPITHET_STEMS = [
  'fictiti',
  'somniat',
  'aurat',
  'nebulos',
  'pallid',
  'obscur',
  'maculat',
  'cristat',
  'caerule',
  'vari',
  'longicaudat',
  'mirand',
  'rose',
  'argentat',
  'nocturn',
  'umbros',
  'ignot',
  'pict',
  'candid',
  'fulv',
  'virid',
  'plumos',
  'rotund',
  'vag',
  'modest',
  'superb',
  'lunat',
  'strenu',
  'tacit',
  'phantastic',
] as const;
const EPITHET_ENDING = { m: 'us', f: 'a', n: 'um' } as const;

/** splitmix32-style mixing: neighbouring seeds get unrelated names. */
function mix(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The suggested name for a seed (0..2³²−1); `mixSeed` varies it for a style mix of two birds. */
export function binomialName(seed: number, mixSeed: number | null = null): string {
  let h = mix(seed >>> 0);
  if (mixSeed !== null) h = mix(h ^ mix(mixSeed >>> 0));
  const stem = GENUS_STEMS[h % GENUS_STEMS.length]!;
  h = mix(h);
  const [ending, gender] = GENUS_ENDINGS[h % GENUS_ENDINGS.length]!;
  h = mix(h);
  const epithet = EPITHET_STEMS[h % EPITHET_STEMS.length]! + EPITHET_ENDING[gender];
  return `${stem}${ending} ${epithet}`;
}

export { MAX_NAME_LENGTH, MAX_NOTE_LENGTH };

/**
 * Why a name cannot be kept, else null. Names may hold any letters; control characters would
 * break captions and terminals, and bidirectional overrides would make a name read as another.
 */
export function whyBadName(name: string): string | null {
  if (name.trim() === '') return 'a favourite needs a name';
  if (name.length > MAX_NAME_LENGTH) return `a name is at most ${MAX_NAME_LENGTH} characters`;
  const unsafe = whyUnsafeText(name);
  return unsafe ? `a name ${unsafe}` : null;
}

/** Why a note cannot be kept, else null: line breaks and tabs are fine, other controls are not. */
export function whyBadNote(note: string): string | null {
  if (note.length > MAX_NOTE_LENGTH) return `a note is at most ${MAX_NOTE_LENGTH} characters`;
  const unsafe = whyUnsafeText(note, true);
  return unsafe ? `a note ${unsafe}` : null;
}
