import { DEFAULT_METRIC_IMAGES, type PauseCause, type RunState } from '../../common/vocabulary.js';
import type { TickInfo } from '../../common/records.js';
import type { GanConfig } from '../gan/config.js';
import { fromStored, toStored } from '../home-layout.js';
import type { Db } from './db.js';
import { parseRunConfig } from './run-config.js';

export type { RunState };

export interface RunRow {
  id: number;
  dataset_id: number;
  parent_run_id: number | null;
  parent_checkpoint_id: number | null;
  /**
   * A fork's start: the kimg of the parent checkpoint it was forked from, kept after
   * parent_checkpoint_id is let go (at the fork's first checkpoint). Its KID line starts there.
   */
  branch_kimg: number | null;
  /** The generator file a fine-tune starts from (absolute here; stored relative when inside the home). */
  init_from: string | null;
  /** With init_from: what the run kept of the file (a TransferInfo as JSON, less its file). */
  started_from: string | null;
  name: string;
  preset: string;
  /** The GAN config as stored (JSON): read it through RunStore.runConfig, which checks it. */
  config: string;
  seed: number;
  sample_seeds: string;
  target_kimg: number;
  snapshot_kimg: number;
  checkpoint_kimg: number;
  /** A checkpoint is written at least this often in wall time, as well as every checkpoint_kimg. */
  checkpoint_minutes: number;
  state: RunState;
  /** The backend's description at the trainer's last start (adapter included); null before it. */
  backend: string | null;
  /** Which backend that was (a BackendName); null before the first start. */
  backend_kind: string | null;
  /** The trainer's hint at its last start: how a faster backend could be had on this machine. */
  backend_hint: string | null;
  error: string | null;
  kimg: number;
  restarts: number;
  /** Why resuming would fail the same way again (a deterministic failure), else null. */
  cannot_resume: string | null;
  /** What paused it when no one pressed Pause (a quit, a crash), and when; null otherwise. */
  paused_by: PauseCause | null;
  paused_at: number | null;
  /** Birds each checkpoint's KID is computed from beside the trainer; 0: its checkpoints are not scored. */
  kid_images: number;
  created_at: number;
  updated_at: number;
}

/** A tick as the trainer reports it, before the store gives it an id and a time. */
export type NewTick = Omit<TickInfo, 'id' | 'at'>;

/**
 * Each tick field and the column that holds it: the one place the two spellings meet. Ticks go
 * into the store and come out of it as TickInfo (the SQL names them with AS).
 */
const TICK_COLUMNS = {
  kimg: 'kimg',
  step: 'step',
  lossG: 'loss_g',
  lossD: 'loss_d',
  r1Penalty: 'r1_penalty',
  plPenalty: 'pl_penalty',
  scoreReal: 'score_real',
  scoreFake: 'score_fake',
  augmentP: 'augment_p',
  imagesPerSec: 'images_per_sec',
  secPerKimg: 'sec_per_kimg',
  tensors: 'tensors',
  rssMB: 'rss_mb',
  datasetImages: 'dataset_images',
  tensorMB: 'tensor_mb',
} as const satisfies { [F in keyof NewTick]-?: string };
const TICK_FIELDS = Object.keys(TICK_COLUMNS) as (keyof NewTick)[];
const SELECT_TICK = `SELECT id, at, ${TICK_FIELDS.map((f) => `${TICK_COLUMNS[f]} AS ${f}`).join(', ')} FROM ticks`;
const INSERT_TICK =
  `INSERT INTO ticks (run_id, at, ${TICK_FIELDS.map((f) => TICK_COLUMNS[f]).join(', ')}) ` +
  `VALUES (@runId, @at, ${TICK_FIELDS.map((f) => `@${f}`).join(', ')})`;

export interface SnapshotRow {
  id: number;
  run_id: number;
  kimg: number;
  step: number;
  grid: string;
  /** G_ema alone at this step (absolute here; stored relative), null once retention removed it. */
  generator: string | null;
  at: number;
}

export interface CheckpointRow {
  id: number;
  run_id: number;
  kimg: number;
  step: number;
  /** Absolute here; stored relative to the home (see home-layout.ts). */
  path: string;
  sha256: string;
  bytes: number;
  at: number;
  /** Why it failed verification (it is never resumed from again), else null. */
  damaged: string | null;
}

/** The fields of a run that change after it is created. */
export type RunUpdate = Partial<
  Pick<
    RunRow,
    | 'state'
    | 'backend'
    | 'backend_kind'
    | 'backend_hint'
    | 'config'
    | 'error'
    | 'kimg'
    | 'restarts'
    | 'target_kimg'
    | 'cannot_resume'
    | 'parent_checkpoint_id'
    | 'paused_by'
    | 'paused_at'
  >
>;

export type NewRun = Omit<
  RunRow,
  | 'id'
  | 'state'
  | 'backend'
  | 'backend_kind'
  | 'backend_hint'
  | 'error'
  | 'kimg'
  | 'restarts'
  | 'cannot_resume'
  | 'paused_by'
  | 'paused_at'
  | 'created_at'
  | 'updated_at'
  | 'started_from'
  | 'kid_images'
  | 'branch_kimg'
> & { started_from?: string | null; kid_images?: number };

/**
 * A delete refused because something (a fork, a favourite) still points at the row.
 * SQLite reports an ON DELETE RESTRICT as SQLITE_CONSTRAINT_TRIGGER, a deferred one as _FOREIGNKEY.
 */
export const isForeignKeyError = (err: unknown): boolean => {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    typeof e?.code === 'string' &&
    e.code.startsWith('SQLITE_CONSTRAINT') &&
    String(e.message).includes('FOREIGN KEY constraint failed')
  );
};

/**
 * Queries for runs and what they produce. Paths cross it absolute and are kept relative to the
 * home where they lie inside it: a copied or moved home finds its own files, never the original's.
 */
export class RunStore {
  readonly #db: Db;
  readonly #home: string;
  /** The lowest id a new run may take (one above the run folders on disk, where there is a home). */
  readonly #minId: () => number;
  constructor(db: Db, home: string, minId: () => number = () => 1) {
    this.#db = db;
    this.#home = home;
    this.#minId = minId;
  }

  readonly #run = (r: RunRow): RunRow =>
    r.init_from === null ? r : { ...r, init_from: fromStored(this.#home, r.init_from) };
  readonly #checkpoint = (c: CheckpointRow): CheckpointRow => ({ ...c, path: fromStored(this.#home, c.path) });
  readonly #snapshot = (s: SnapshotRow): SnapshotRow =>
    s.generator === null ? s : { ...s, generator: fromStored(this.#home, s.generator) };

  /**
   * Inserts a run. Its id is above every id in the table and at least the store's `minId`, so the
   * id of a run whose files still exist is never handed out again, even by a database that was
   * lost and recreated.
   */
  createRun(r: NewRun): RunRow {
    const now = Date.now();
    const minId = this.#minId();
    const id = this.#db.transaction(() => {
      const { top } = this.#db.prepare<[], { top: number }>('SELECT coalesce(max(id), 0) AS top FROM runs').get()!;
      const next = Math.max(top + 1, minId);
      this.#db
        .prepare(
          `INSERT INTO runs (id, dataset_id, parent_run_id, parent_checkpoint_id, init_from, started_from, name, preset,
             config, seed, sample_seeds, target_kimg, snapshot_kimg, checkpoint_kimg, checkpoint_minutes, kid_images, state,
             branch_kimg, created_at, updated_at)
           VALUES (@id, @dataset_id, @parent_run_id, @parent_checkpoint_id, @init_from, @started_from, @name, @preset,
             @config, @seed, @sample_seeds, @target_kimg, @snapshot_kimg, @checkpoint_kimg, @checkpoint_minutes, @kid_images,
             'created', (SELECT kimg FROM checkpoints WHERE id = @parent_checkpoint_id), ${now},
             ${now})`,
        )
        .run({
          ...r,
          id: next,
          started_from: r.started_from ?? null,
          kid_images: r.kid_images ?? DEFAULT_METRIC_IMAGES,
          init_from: r.init_from === null ? null : toStored(this.#home, r.init_from),
        });
      return next;
    })();
    return this.getRun(id)!;
  }

  getRun(id: number): RunRow | undefined {
    const row = this.#db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
    return row && this.#run(row);
  }

  /** The run's GAN config, checked field by field (RunConfigError, naming the run and the field). */
  runConfig(run: Pick<RunRow, 'id' | 'config'>): GanConfig {
    return parseRunConfig(run.id, run.config);
  }

  listRuns(): RunRow[] {
    return this.#db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id DESC').all().map(this.#run);
  }

  updateRun(id: number, fields: RunUpdate): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.#db
      .prepare(`UPDATE runs SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @updated_at WHERE id = @id`)
      .run({ ...fields, id, updated_at: Date.now() });
  }

  /**
   * Runs a process that died left 'running' are paused, with the reason, at the kimg of their
   * last checkpoint: that is where they resume (ticks after it were not saved in any checkpoint).
   */
  markInterrupted(): number {
    return this.#db
      .prepare(
        `UPDATE runs SET state = 'paused',
           error = 'interrupted: Plumage quit or crashed while it trained; resume continues from the last checkpoint',
           kimg = coalesce((SELECT c.kimg FROM checkpoints c WHERE c.run_id = runs.id
                            ORDER BY c.step DESC, c.id DESC LIMIT 1), 0),
           paused_by = 'crash',
           -- When it was last heard of: its last tick, else its last change.
           paused_at = coalesce((SELECT max(t.at) FROM ticks t WHERE t.run_id = runs.id), updated_at),
           updated_at = ?
         WHERE state = 'running'`,
      )
      .run(Date.now()).changes;
  }

  deleteRun(id: number): void {
    this.#db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }

  insertTick(runId: number, t: NewTick): TickInfo {
    const at = Date.now();
    // Only the tick's own fields: the trainer's report carries its timing too.
    const tick = Object.fromEntries(TICK_FIELDS.map((f) => [f, t[f]])) as unknown as NewTick;
    const info = this.#db.prepare(INSERT_TICK).run({ ...tick, runId, at });
    return { ...tick, id: Number(info.lastInsertRowid), at };
  }

  /** A tick and the run's kimg, in one transaction: the run never shows a kimg its ticks do not. */
  recordTick(runId: number, t: NewTick): TickInfo {
    return this.#db.transaction(() => {
      const row = this.insertTick(runId, t);
      this.updateRun(runId, { kimg: t.kimg });
      return row;
    })();
  }

  listTicks(runId: number, afterId = 0, limit = 5000): TickInfo[] {
    return this.#db
      .prepare<[number, number, number], TickInfo>(`${SELECT_TICK} WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`)
      .all(runId, afterId, limit);
  }

  countTicks(runId: number, afterId = 0): number {
    return (
      this.#db
        .prepare<[number, number], { n: number }>('SELECT COUNT(*) AS n FROM ticks WHERE run_id = ? AND id > ?')
        .get(runId, afterId)?.n ?? 0
    );
  }

  /** Every tick of a run after `afterId`, one row at a time (a long run has hundreds of thousands). */
  iterateTicks(runId: number, afterId = 0): IterableIterator<TickInfo> {
    return this.#db
      .prepare<[number, number], TickInfo>(`${SELECT_TICK} WHERE run_id = ? AND id > ? ORDER BY id`)
      .iterate(runId, afterId);
  }

  /** A grid and (absolute, or null) the file of G_ema alone written with it. */
  insertSnapshot(
    runId: number,
    kimg: number,
    step: number,
    grid: string,
    generator: string | null = null,
  ): SnapshotRow {
    const at = Date.now();
    const stored = generator === null ? null : toStored(this.#home, generator);
    const info = this.#db
      .prepare<[number, number, number, string, string | null, number], { id: number }>(
        // A grid rewritten after a restart (same step, same file) keeps its one row.
        `INSERT INTO snapshots (run_id, kimg, step, grid, generator, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, grid) DO UPDATE SET kimg = excluded.kimg, step = excluded.step,
           generator = excluded.generator, at = excluded.at
         RETURNING id`,
      )
      .get(runId, kimg, step, grid, stored, at)!;
    return { id: info.id, run_id: runId, kimg, step, grid, generator, at };
  }

  listSnapshots(runId: number): SnapshotRow[] {
    return this.#db
      .prepare<[number], SnapshotRow>('SELECT * FROM snapshots WHERE run_id = ? ORDER BY kimg, id')
      .all(runId)
      .map(this.#snapshot);
  }

  getSnapshot(id: number): SnapshotRow | undefined {
    const row = this.#db.prepare<[number], SnapshotRow>('SELECT * FROM snapshots WHERE id = ?').get(id);
    return row && this.#snapshot(row);
  }

  /** The snapshot whose G_ema is this file (one opened by its path), if any. */
  snapshotAt(file: string): SnapshotRow | undefined {
    const row = this.#db
      .prepare<[string], SnapshotRow>('SELECT * FROM snapshots WHERE generator = ? ORDER BY id DESC LIMIT 1')
      .get(toStored(this.#home, file));
    return row && this.#snapshot(row);
  }

  /** Snapshots that still keep their G_ema's file, newest first. */
  liveGenerators(runId: number): SnapshotRow[] {
    return this.#db
      .prepare<[number], SnapshotRow>(
        'SELECT * FROM snapshots WHERE run_id = ? AND generator IS NOT NULL ORDER BY step DESC, id DESC',
      )
      .all(runId)
      .map(this.#snapshot);
  }

  /**
   * Lets go of all but the newest `keep` snapshots' G_ema files (their rows forget them) and says
   * which generator files of the home are still held: by a snapshot, or by any favourite.
   */
  releaseLiveGenerators(runId: number, keep: number): Set<string> {
    return this.#db.transaction(() => {
      this.#db
        .prepare<[number, number, number]>(
          `UPDATE snapshots SET generator = NULL WHERE run_id = ? AND generator IS NOT NULL AND id NOT IN
             (SELECT id FROM snapshots WHERE run_id = ? AND generator IS NOT NULL ORDER BY step DESC, id DESC LIMIT ?)`,
        )
        .run(runId, runId, keep);
      const held = this.#db
        .prepare<[], { path: string }>(
          `SELECT generator AS path FROM snapshots WHERE generator IS NOT NULL
           UNION SELECT generator_path AS path FROM favourites`,
        )
        .all();
      return new Set(held.map((h) => fromStored(this.#home, h.path)));
    })();
  }

  insertCheckpoint(runId: number, c: Omit<CheckpointRow, 'id' | 'run_id' | 'at' | 'damaged'>): CheckpointRow {
    const at = Date.now();
    const info = this.#db
      .prepare('INSERT INTO checkpoints (run_id, kimg, step, path, sha256, bytes, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(runId, c.kimg, c.step, toStored(this.#home, c.path), c.sha256, c.bytes, at);
    return { ...c, id: Number(info.lastInsertRowid), run_id: runId, at, damaged: null };
  }

  /** A checkpoint (whole on disk) and the run's kimg, in one transaction. */
  recordCheckpoint(runId: number, c: Omit<CheckpointRow, 'id' | 'run_id' | 'at' | 'damaged'>): CheckpointRow {
    return this.#db.transaction(() => {
      const row = this.insertCheckpoint(runId, c);
      this.updateRun(runId, { kimg: c.kimg });
      return row;
    })();
  }

  listCheckpoints(runId: number): CheckpointRow[] {
    return this.#db
      .prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step, id')
      .all(runId)
      .map(this.#checkpoint);
  }

  getCheckpoint(id: number): CheckpointRow | undefined {
    const row = this.#db.prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE id = ?').get(id);
    return row && this.#checkpoint(row);
  }

  /** The newest checkpoint listed at this file (a run's checkpoint opened by its path), if any. */
  checkpointAt(file: string): CheckpointRow | undefined {
    const row = this.#db
      .prepare<[string], CheckpointRow>('SELECT * FROM checkpoints WHERE path = ? ORDER BY id DESC LIMIT 1')
      .get(toStored(this.#home, file));
    return row && this.#checkpoint(row);
  }

  /**
   * The newest checkpoint not marked damaged (its file may be missing: a missing file is found
   * when it is read, and found again when it is back).
   */
  latestCheckpoint(runId: number): CheckpointRow | undefined {
    const row = this.#db
      .prepare<[number], CheckpointRow>(
        'SELECT * FROM checkpoints WHERE run_id = ? AND damaged IS NULL ORDER BY step DESC, id DESC LIMIT 1',
      )
      .get(runId);
    return row && this.#checkpoint(row);
  }

  /** Resume candidates, newest first, damaged ones left out. */
  goodCheckpoints(runId: number): CheckpointRow[] {
    return this.#db
      .prepare<[number], CheckpointRow>(
        'SELECT * FROM checkpoints WHERE run_id = ? AND damaged IS NULL ORDER BY step DESC, id DESC',
      )
      .all(runId)
      .map(this.#checkpoint);
  }

  markCheckpointDamaged(id: number, why: string): void {
    this.#db.prepare('UPDATE checkpoints SET damaged = ? WHERE id = ?').run(why, id);
  }

  /**
   * Deletes a checkpoint row; false (and kept) when a fork or a favourite still points at it:
   * the foreign key refuses, not a hope.
   */
  deleteCheckpoint(id: number): boolean {
    try {
      this.#db.prepare('DELETE FROM checkpoints WHERE id = ?').run(id);
      return true;
    } catch (err) {
      if (isForeignKeyError(err)) return false;
      throw err;
    }
  }

  /** Runs that continue from one of this run's checkpoints and have not yet written their own. */
  forksPointingAt(runId: number): RunRow[] {
    return this.#db
      .prepare<[number], RunRow>(
        'SELECT * FROM runs WHERE parent_checkpoint_id IN (SELECT id FROM checkpoints WHERE run_id = ?)',
      )
      .all(runId)
      .map(this.#run);
  }

  /**
   * A resumed run forgets what came after its checkpoint: ticks and grids past that step are
   * recorded again, so the history never holds a step twice (checkpoint scores included: the
   * checkpoints they scored are not resumed from). Returns the grids' media keys.
   */
  truncateAfter(runId: number, step: number): string[] {
    return this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM ticks WHERE run_id = ? AND step > ?').run(runId, step);
      this.#db.prepare('DELETE FROM checkpoint_scores WHERE run_id = ? AND step > ?').run(runId, step);
      const grids = this.#db
        .prepare<[number, number], { grid: string }>(
          'DELETE FROM snapshots WHERE run_id = ? AND step > ? RETURNING grid',
        )
        .all(runId, step);
      return grids.map((g) => g.grid);
    })();
  }
}
