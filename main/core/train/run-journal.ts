/**
 * What the supervisor writes down for each message a trainer sends: the database first, then the
 * event (so nothing shown is lost). How the run's life goes on is the supervisor's; this is the
 * record.
 */
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { TickInfo } from '../../common/records.js';
import { liveGeneratorFiles, removeInHome } from '../home-layout.js';
import type { CheckpointRow, RunRow, RunStore, RunUpdate, SnapshotRow } from '../store/runs.js';
import { firstLine } from './failure.js';
import type { TrainerMessage } from './protocol.js';
import { applyRetention, removeLiveGenerators } from './run-files.js';

export interface SupervisorEvents {
  changed: [RunRow];
  tick: [TickInfo];
  /** The trainer's own timing of a tick and of a checkpoint write (for benchmarks). */
  timing: [{ stepSeconds?: number; wallSeconds?: number; checkpointMs?: number }];
  snapshot: [SnapshotRow];
  checkpoint: [CheckpointRow];
  started: [{ backend: string; description: string; hint: string | null; replicas: number }];
}

export interface Journal {
  store: RunStore;
  home: string;
  runId: number;
  keepCheckpoints: number;
  keepLiveGenerators: number;
  /** Writes the run's row, then announces it. */
  update(fields: RunUpdate): void;
  /** Where the run's events are announced (the supervisor). */
  events: EventEmitter<SupervisorEvents>;
}

/**
 * Records `m` and announces it. `startedAt`: when the trainer that sent it was started (G_ema
 * files named before it are a past session's), undefined for a trainer no longer in hand.
 * Throws what the database throws (the supervisor pauses the run with it).
 */
export function recordMessage(j: Journal, m: TrainerMessage, startedAt: number | undefined): void {
  const { store, home, runId } = j;
  switch (m.type) {
    case 'started': {
      // What came after the checkpoint it resumed from is recorded again: never a step twice.
      const dropped = store.truncateAfter(runId, m.step);
      // A stale grid that cannot be removed is only a picture the history no longer lists.
      for (const grid of dropped) void removeInHome(home, join(home, grid)).catch(() => {});
      // Their G_ema files too, and any a killed trainer wrote without saying (none held by a favourite).
      removeLiveGenerators(store, home, runId, j.keepLiveGenerators, startedAt);
      j.update({ backend: m.description, backend_kind: m.backend, backend_hint: m.hint, kimg: m.kimg });
      j.events.emit('started', m);
      break;
    }
    case 'checkpointDamaged': {
      // A missing file is not marked: it is looked for again at every start, and may be back.
      if (!m.missing) store.markCheckpointDamaged(m.id, m.reason);
      const row = store.getCheckpoint(m.id);
      const at = `the checkpoint at ${row ? row.kimg.toFixed(3) : '?'} kimg`;
      j.update({
        error: m.missing
          ? `${at} is missing (${m.path}); resuming from the newest one on disk`
          : `${at} is damaged (${m.reason}); resuming from the newest intact one`,
      });
      break;
    }
    case 'tick': {
      j.events.emit('tick', store.recordTick(runId, m.tick));
      j.events.emit('timing', { stepSeconds: m.tick.stepSeconds, wallSeconds: m.tick.wallSeconds });
      break;
    }
    case 'snapshot': {
      j.events.emit('snapshot', store.insertSnapshot(runId, m.kimg, m.step, m.grid, m.generator));
      const written = liveGeneratorFiles(home, runId).find((f) => f.path === m.generator)?.at;
      removeLiveGenerators(store, home, runId, j.keepLiveGenerators, written);
      break;
    }
    case 'checkpoint': {
      // Listed only now: the trainer sends this after the file is renamed into place, whole.
      const { kimg, step, path, sha256, bytes } = m;
      const row = store.recordCheckpoint(runId, { kimg, step, path, sha256, bytes });
      // A fork with a checkpoint of its own no longer needs its parent's: let the parent's go.
      const parent = store.getRun(runId)?.parent_checkpoint_id;
      if (parent !== null && parent !== undefined) store.updateRun(runId, { parent_checkpoint_id: null });
      j.events.emit('checkpoint', row);
      j.events.emit('timing', { checkpointMs: m.ms });
      // Housekeeping: a checkpoint that cannot be deleted costs disk space, never the run.
      void applyRetention(store, home, runId, j.keepCheckpoints).catch((err: unknown) =>
        console.error(`plumage: run ${runId}: could not delete an old checkpoint: ${firstLine(err)}`),
      );
      break;
    }
    case 'paused':
    case 'stopped':
    case 'done':
      store.updateRun(runId, { kimg: m.kimg });
      break;
    case 'failed':
    case 'error':
      break; // what they mean is decided at the exit (exit-decision.ts)
  }
}
