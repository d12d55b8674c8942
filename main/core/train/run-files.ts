/**
 * A run's files on disk that the supervisor tidies: temp files a killed write left, checkpoints
 * past retention, G_ema files no snapshot or favourite holds. Housekeeping only: a file that
 * cannot be removed costs disk space, never the run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointDir, liveGeneratorFiles, removeInHome, removeInHomeSync, samplesDir } from '../home-layout.js';
import type { RunStore } from '../store/runs.js';

/** Temp files a killed write left behind (a whole checkpoint's size each): never read, so removed. */
export function removeLeftovers(home: string, runId: number): void {
  for (const dir of [checkpointDir(home, runId), samplesDir(home, runId)]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // not there yet
    }
    for (const name of names) if (name.endsWith('.tmp')) removeInHomeSync(home, join(dir, name));
  }
}

/**
 * Deletes all but the newest `keep` intact checkpoints (damaged ones go too): the row first, then
 * the file. A checkpoint a fork (or a favourite) points to is kept: its foreign key refuses the
 * delete. A file is deleted only inside the home, and only when no row still lists it (a run that
 * resumed before a missing or damaged checkpoint rewrites its name).
 */
export async function applyRetention(store: RunStore, home: string, runId: number, keep: number): Promise<void> {
  const kept = new Set(
    store
      .goodCheckpoints(runId)
      .slice(0, keep)
      .map((c) => c.id),
  );
  for (const old of store.listCheckpoints(runId)) {
    if (kept.has(old.id) || !store.deleteCheckpoint(old.id)) continue;
    if (store.checkpointAt(old.path)) continue;
    // A row that named a file outside the home (an old database's) is forgotten; the file is not ours.
    await removeInHome(home, old.path).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 'outside-home') throw err;
    });
  }
}

/**
 * Keeps the newest `keep` snapshots' G_ema files and any a favourite was drawn from; deletes the
 * run's other G_ema files named before `before` (ms). A file named later may be one the trainer
 * has written and not yet announced, so it is never touched here.
 */
export function removeLiveGenerators(
  store: RunStore,
  home: string,
  runId: number,
  keep: number,
  before: number | undefined,
): void {
  if (before === undefined) return;
  const held = store.releaseLiveGenerators(runId, keep);
  for (const f of liveGeneratorFiles(home, runId))
    if (f.at < before && !held.has(f.path)) void removeInHome(home, f.path).catch(() => {});
}
