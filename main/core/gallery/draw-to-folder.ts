/**
 * "Draw these birds into this folder" (`plumage generate`, the generateFiles request): one PNG a
 * seed, named by the seed and what moved it, in batches of what one generate may ask for, with
 * progress after each. A cancel (the CLI's Ctrl-C) stops after the bird in flight: every file in
 * the folder is whole (each is written beside its name and renamed in), and a folder made for a
 * draw that wrote nothing is unmade.
 */
import { join } from 'node:path';
import type { BirdEdit, GenerateFilesParams } from '../../../preload/contract.js';
import { checkExportFolder, makeExportFolder, removeCreated } from '../export/folder.js';
import { MAX_SEEDS_PER_REQUEST } from './limits.js';
import type { BirdSpec } from './render.js';
import type { TaskRunner } from './runner.js';

export interface DrawToFolderOptions {
  /** Aborting stops the draw after the bird in flight; the call resolves with what was written. */
  signal?: AbortSignal | undefined;
  /** After each batch: birds written so far, of all. */
  onProgress?: ((p: { done: number; total: number }) => void) | undefined;
}

/** `seed0007`, then `-mix3` for a style mix and `-dir2+1.5` for a move along a direction. */
export function birdFileName(seed: number, mixSeed: number | undefined, edit: BirdEdit | undefined): string {
  const mix = mixSeed !== undefined ? `-mix${mixSeed}` : '';
  const dir = edit ? `-dir${edit.direction}${edit.amount >= 0 ? '+' : ''}${edit.amount}` : '';
  return `seed${String(seed).padStart(4, '0')}${mix}${dir}.png`;
}

/** Checks the folder (before anything is drawn), makes it, and draws `specs` into it in batches. */
export async function drawToFolder(
  runner: TaskRunner,
  home: string,
  file: string,
  p: Pick<GenerateFilesParams, 'seeds' | 'mixSeed' | 'edit' | 'outDir'>,
  specs: BirdSpec[],
  opts: DrawToFolderOptions = {},
): Promise<{ outDir: string; files: string[]; cancelled: boolean }> {
  const outDir = await checkExportFolder(p.outDir, home);
  const made = await makeExportFolder(outDir);
  const names = p.seeds.map((s) => join(outDir, birdFileName(s, p.mixSeed, p.edit)));
  const files: string[] = [];
  let job = 0;
  const stop = (): void => void (job && runner.cancel(job));
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for (let i = 0; i < specs.length && !opts.signal?.aborted; i += MAX_SEEDS_PER_REQUEST) {
      const out = names.slice(i, i + MAX_SEEDS_PER_REQUEST);
      const { id, done } = runner.submit({ kind: 'birds', file, specs: specs.slice(i, i + out.length), out });
      job = id;
      if (opts.signal?.aborted) runner.cancel(id);
      const r = await done;
      files.push(...r.files);
      if (r.cancelled) break;
      opts.onProgress?.({ done: files.length, total: specs.length });
    }
  } catch (err) {
    if (files.length === 0) await removeCreated(made);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', stop);
  }
  const cancelled = files.length < specs.length;
  if (files.length === 0) await removeCreated(made);
  return { outDir, files, cancelled };
}
