import type { Db } from './db.js';

export type RunState = 'created' | 'running' | 'paused' | 'stopped' | 'crashed' | 'done';

export interface RunRow {
  id: number;
  dataset_id: number;
  parent_run_id: number | null;
  parent_checkpoint_id: number | null;
  init_from: string | null;
  name: string;
  preset: string;
  config: string;
  seed: number;
  sample_seeds: string;
  target_kimg: number;
  snapshot_kimg: number;
  checkpoint_kimg: number;
  state: RunState;
  backend: string | null;
  error: string | null;
  kimg: number;
  restarts: number;
  created_at: number;
  updated_at: number;
}

export interface TickRow {
  id: number;
  run_id: number;
  kimg: number;
  step: number;
  loss_g: number | null;
  loss_d: number | null;
  r1_penalty: number | null;
  pl_penalty: number | null;
  score_real: number | null;
  score_fake: number | null;
  augment_p: number | null;
  images_per_sec: number | null;
  sec_per_kimg: number | null;
  tensors: number | null;
  rss_mb: number | null;
  dataset_images: number | null;
  tensor_mb: number | null;
  at: number;
}

export interface SnapshotRow {
  id: number;
  run_id: number;
  kimg: number;
  step: number;
  grid: string;
  at: number;
}

export interface CheckpointRow {
  id: number;
  run_id: number;
  kimg: number;
  step: number;
  path: string;
  sha256: string;
  bytes: number;
  at: number;
}

export type NewRun = Omit<
  RunRow,
  'id' | 'state' | 'backend' | 'error' | 'kimg' | 'restarts' | 'created_at' | 'updated_at'
>;

/** Queries for runs and what they produce. */
export class RunStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  createRun(r: NewRun): RunRow {
    const now = Date.now();
    const info = this.#db
      .prepare(
        `INSERT INTO runs (dataset_id, parent_run_id, parent_checkpoint_id, init_from, name, preset, config, seed, sample_seeds,
           target_kimg, snapshot_kimg, checkpoint_kimg, state, created_at, updated_at)
         VALUES (@dataset_id, @parent_run_id, @parent_checkpoint_id, @init_from, @name, @preset, @config, @seed, @sample_seeds,
           @target_kimg, @snapshot_kimg, @checkpoint_kimg, 'created', ${now}, ${now})`,
      )
      .run(r);
    return this.getRun(Number(info.lastInsertRowid))!;
  }

  getRun(id: number): RunRow | undefined {
    return this.#db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
  }

  listRuns(): RunRow[] {
    return this.#db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id DESC').all();
  }

  updateRun(
    id: number,
    fields: Partial<Pick<RunRow, 'state' | 'backend' | 'error' | 'kimg' | 'restarts' | 'target_kimg'>>,
  ): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.#db
      .prepare(`UPDATE runs SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @updated_at WHERE id = @id`)
      .run({ ...fields, id, updated_at: Date.now() });
  }

  /** Runs a process that died left 'running': they are paused, with the reason. */
  markInterrupted(): number {
    return this.#db
      .prepare(
        "UPDATE runs SET state = 'paused', error = 'interrupted: Plumage quit or crashed while it trained; resume continues from the last checkpoint', updated_at = ? WHERE state = 'running'",
      )
      .run(Date.now()).changes;
  }

  deleteRun(id: number): void {
    this.#db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }

  insertTick(runId: number, t: Omit<TickRow, 'id' | 'run_id' | 'at'>): TickRow {
    const at = Date.now();
    const info = this.#db
      .prepare(
        `INSERT INTO ticks (run_id, kimg, step, loss_g, loss_d, r1_penalty, pl_penalty, score_real, score_fake, augment_p, images_per_sec, sec_per_kimg, tensors, rss_mb, dataset_images, tensor_mb, at)
         VALUES (@run_id, @kimg, @step, @loss_g, @loss_d, @r1_penalty, @pl_penalty, @score_real, @score_fake, @augment_p, @images_per_sec, @sec_per_kimg, @tensors, @rss_mb, @dataset_images, @tensor_mb, @at)`,
      )
      .run({ ...t, run_id: runId, at });
    return { ...t, id: Number(info.lastInsertRowid), run_id: runId, at };
  }

  listTicks(runId: number, afterId = 0, limit = 5000): TickRow[] {
    return this.#db
      .prepare<[number, number, number], TickRow>('SELECT * FROM ticks WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?')
      .all(runId, afterId, limit);
  }

  insertSnapshot(runId: number, kimg: number, step: number, grid: string): SnapshotRow {
    const at = Date.now();
    const info = this.#db
      .prepare('INSERT INTO snapshots (run_id, kimg, step, grid, at) VALUES (?, ?, ?, ?, ?)')
      .run(runId, kimg, step, grid, at);
    return { id: Number(info.lastInsertRowid), run_id: runId, kimg, step, grid, at };
  }

  listSnapshots(runId: number): SnapshotRow[] {
    return this.#db
      .prepare<[number], SnapshotRow>('SELECT * FROM snapshots WHERE run_id = ? ORDER BY kimg, id')
      .all(runId);
  }

  insertCheckpoint(runId: number, c: Omit<CheckpointRow, 'id' | 'run_id' | 'at'>): CheckpointRow {
    const at = Date.now();
    const info = this.#db
      .prepare('INSERT INTO checkpoints (run_id, kimg, step, path, sha256, bytes, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(runId, c.kimg, c.step, c.path, c.sha256, c.bytes, at);
    return { ...c, id: Number(info.lastInsertRowid), run_id: runId, at };
  }

  listCheckpoints(runId: number): CheckpointRow[] {
    return this.#db
      .prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step, id')
      .all(runId);
  }

  getCheckpoint(id: number): CheckpointRow | undefined {
    return this.#db.prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE id = ?').get(id);
  }

  latestCheckpoint(runId: number): CheckpointRow | undefined {
    return this.#db
      .prepare<[number], CheckpointRow>(
        'SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step DESC, id DESC LIMIT 1',
      )
      .get(runId);
  }

  deleteCheckpoint(id: number): void {
    this.#db.prepare('DELETE FROM checkpoints WHERE id = ?').run(id);
  }
}
