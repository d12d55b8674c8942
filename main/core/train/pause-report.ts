/**
 * What `serve` and `train` say when Ctrl-C (or SIGTERM) pauses a run: which run, the checkpoint
 * it will resume from, and the command that resumes it. One wording for both.
 */
import type { RunSummary } from '../../../preload/contract.js';

/** A word the shell passes through as it is, or the word in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `plumage train` that resumes `run`: its dataset's folder, resolution and crop find that
 * dataset, and the preset finds the run on it. `home` when it is not the default one.
 */
export function resumeCommand(
  run: RunSummary,
  dataset: { folder: string; resolution: number; crop: string } | undefined,
  home: string | null,
): string {
  const words = ['plumage', 'train', '--dataset', dataset?.folder ?? run.datasetFolder, '--preset', run.preset];
  if (dataset) words.push('--resolution', String(dataset.resolution), '--crop', dataset.crop);
  if (home !== null) words.push('--home', home);
  return words.map(shellQuote).join(' ');
}

/** "pausing run #1 (tiny on plates)…": said as the pause is asked for. */
export const pausingLine = (run: RunSummary): string =>
  `pausing run #${run.id} (${run.name})… finishing the step and writing a checkpoint`;

/** What became of a run a quit paused: where it resumes from and how, or why it did not pause cleanly. */
export function pausedLine(run: RunSummary, resume: string): string {
  if (run.state !== 'paused') return `run #${run.id} ${run.state}${run.error ? `: ${run.error}` : ''}`;
  const from = run.lastCheckpoint
    ? `checkpoint at ${run.resumeKimg.toFixed(3)} kimg`
    : `no checkpoint yet, so it starts again from ${run.resumeKimg.toFixed(3)} kimg`;
  return `run #${run.id} paused: ${from}; resume with ${resume}`;
}
