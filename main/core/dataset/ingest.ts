import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IngestPhase } from '../../common/vocabulary.js';
import type { IngestProgress } from '../../common/records.js';
import { assertWritableInHome, datasetCacheFile, removeInHome, thumbsDir, thumbsKey } from '../home-layout.js';
import type { DatasetRow, DatasetStore, SourceRow } from '../store/datasets.js';
import { writeFileAtomic } from '../util/atomic.js';
import { WorkPool } from '../util/pool.js';
import { PackedCache, SlotAllocator } from './cache.js';
import { inspectFile, type Inspection } from './inspect.js';
import { renderSquare, renderThumbnail } from './process.js';
import { PERMISSION_DENIED, isPermissionError, listCandidates, whyNotDatasetFolder } from './scan.js';
import type { FolderWatcher } from './watch.js';

export interface IngestorOptions {
  /** Root of the data home; caches and thumbnails go under it. */
  home: string;
  /** Images decoded at once (sharp runs one libvips thread per image here). */
  concurrency?: number;
  /** Minimum milliseconds between progress events. */
  progressIntervalMs?: number;
  /** Milliseconds a file must stay unchanged before the watcher reports it. */
  settleMs?: number;
  /**
   * Test hook: awaited after a file is read and decoded, before its outcome is written, so a
   * test can change the file (or delete the folder) at exactly that moment.
   */
  afterDecode?: (rel: string) => void | Promise<void>;
}

export interface IngestorEvents {
  progress: [IngestProgress];
  /** Counts or the file list changed. */
  changed: [];
}

/**
 * Keeps one dataset in step with its folder: a full pass on start (only new or changed files
 * are decoded), then the watcher's events one by one. Every file goes through the same
 * `#processFile`, so a file added while watching is treated exactly as one found by a pass.
 */
export class DatasetIngestor extends EventEmitter<IngestorEvents> {
  readonly cache: PackedCache;
  readonly #store: DatasetStore;
  readonly #ds: DatasetRow;
  readonly #home: string;
  readonly #pool: WorkPool;
  readonly #progressIntervalMs: number;
  readonly #settleMs: number;
  readonly #afterDecode: IngestorOptions['afterDecode'];
  readonly #slots: SlotAllocator;
  /** hash → path of the file being accepted right now, so twins in flight become duplicates. */
  readonly #claims = new Map<string, string>();
  /** Paths queued or in flight, so a burst of watcher events decodes a file once. */
  readonly #pending = new Set<string>();
  #rootReal = '';
  #watcher: FolderWatcher | null = null;
  #phase: IngestPhase = 'stopped';
  #error: string | undefined;
  #done = 0;
  #total = 0;
  #passStarted = 0;
  #lastEmit = 0;
  #idle: Promise<void> = Promise.resolve();
  #generation = 0;

  constructor(store: DatasetStore, ds: DatasetRow, opts: IngestorOptions) {
    super();
    this.#store = store;
    this.#ds = ds;
    this.#home = opts.home;
    this.#pool = new WorkPool(opts.concurrency ?? 4);
    this.#progressIntervalMs = opts.progressIntervalMs ?? 100;
    this.#settleMs = opts.settleMs ?? 400;
    this.#afterDecode = opts.afterDecode;
    this.cache = new PackedCache(datasetCacheFile(opts.home, ds), ds.resolution);
    this.#slots = new SlotAllocator(store.usedSlots(ds.id));
  }

  get dataset(): DatasetRow {
    return this.#ds;
  }

  get progress(): IngestProgress {
    const elapsed = (Date.now() - this.#passStarted) / 1000;
    const rate = elapsed > 0 && this.#done > 0 ? this.#done / elapsed : 0;
    const left = this.#total - this.#done;
    return {
      datasetId: this.#ds.id,
      phase: this.#phase,
      done: this.#done,
      total: this.#total,
      rate: Math.round(rate * 10) / 10,
      etaSeconds: rate > 0 ? Math.round(left / rate) : null,
      ...(this.#error ? { error: this.#error } : {}),
    };
  }

  /**
   * Resolves when the queue is empty (the current pass, and watcher events so far, are done),
   * including files queued again while it drained (a file saved during its own decode).
   */
  async whenIdle(): Promise<void> {
    let idle;
    do {
      idle = this.#idle;
      await idle;
    } while (idle !== this.#idle);
  }

  /**
   * Full pass over the folder, then (if `watch`) keep watching it.
   * Throws a clear error for a missing folder; individual bad files never throw.
   */
  async start({ watch }: { watch: boolean }): Promise<void> {
    const folder = this.#ds.folder;
    // Taken before the first await: a close() or cancel() that lands during any await below bumps it,
    // and this pass then stops instead of creating a watcher nobody will close.
    const generation = ++this.#generation;
    const st = await stat(folder).catch(() => null);
    if (!st) throw new Error(`folder not found: ${folder}`);
    if (!st.isDirectory()) throw new Error(`not a folder: ${folder}`);
    const refused = await whyNotDatasetFolder(folder);
    if (refused) throw new Error(refused);
    const rootReal = await realpath(folder);
    if (generation !== this.#generation) return;
    this.#rootReal = rootReal;
    // A copy of a home whose cache/ or thumbs/ links into the original must not write there.
    assertWritableInHome(this.#home, dirname(this.cache.file));
    assertWritableInHome(this.#home, this.#thumbDir);
    mkdirSync(this.#thumbDir, { recursive: true });
    this.#error = undefined;
    this.#setPhase('scanning');
    if (watch) {
      // Start watching before listing, so nothing that arrives during the pass is missed.
      const { watchFolder } = await import('./watch.js'); // chokidar only where something watches
      if (generation !== this.#generation) return;
      const watcher = await watchFolder(folder, {
        settleMs: this.#settleMs,
        onFile: (rel) => this.#enqueue([rel], generation),
        onFolderGone: (relDir) => this.#enqueue(this.#trackedUnder(relDir), generation),
        // Not awaited (chokidar calls back); a failure is the dataset's, as the watcher's own are.
        onFolderAdded: (relDir) => void this.#scanSubfolder(relDir, generation).catch((err: Error) => this.#fail(err)),
        // An unreadable sub-folder is reported by the listing below; it must not stop the pass.
        onError: (err) => !isPermissionError(err) && this.#fail(err),
      });
      // Closed or cancelled while chokidar was getting ready: a watcher kept now would hold the
      // process open after close (seen: `serve` stopped right after start never exited).
      if (generation !== this.#generation) {
        await watcher.close();
        return;
      }
      this.#watcher = watcher;
    }
    const unreadable: string[] = [];
    const listed = await listCandidates(folder, undefined, (relDir) => unreadable.push(relDir));
    if (generation !== this.#generation) return;
    for (const relDir of unreadable) this.#writeUnreadable(relDir);
    const known = new Map(this.#store.listAllSources(this.#ds.id).map((r) => [r.path, r]));
    for (const relDir of unreadable) known.delete(relDir);
    const work: string[] = [];
    for (const rel of listed) {
      const row = known.get(rel);
      known.delete(rel);
      if (row && (await this.#unchanged(rel, row))) continue;
      work.push(rel);
    }
    // Whatever the database knows that is no longer on disk: let #processFile find it gone.
    work.push(...known.keys());
    this.#enqueue(work, generation, watch);
    await this.whenIdle();
  }

  /** Stops the pass and the watcher. Files already accepted stay; a later start picks up the rest. */
  async cancel(): Promise<void> {
    await this.#stop('cancelled');
  }

  async close(): Promise<void> {
    await this.#stop('stopped');
    await this.cache.close();
  }

  async #stop(phase: IngestPhase): Promise<void> {
    this.#generation++;
    this.#pending.clear();
    await this.#watcher?.close();
    this.#watcher = null;
    await this.#idle;
    await this.cache.sync();
    this.#setPhase(phase);
  }

  get #thumbDir(): string {
    return thumbsDir(this.#home, this.#ds.id);
  }

  async #unchanged(rel: string, row: SourceRow): Promise<boolean> {
    const st = await stat(join(this.#ds.folder, rel)).catch(() => null);
    return !!st && st.size === row.size && Math.trunc(st.mtimeMs) === row.mtime_ms;
  }

  #trackedUnder(relDir: string): string[] {
    const prefix = relDir === '' ? '' : `${relDir}/`;
    return this.#store
      .listAllSources(this.#ds.id)
      .filter((r) => r.path.startsWith(prefix))
      .map((r) => r.path);
  }

  async #scanSubfolder(relDir: string, generation: number): Promise<void> {
    const files = await listCandidates(join(this.#ds.folder, relDir));
    this.#enqueue(
      files.map((f) => `${relDir}/${f}`),
      generation,
    );
  }

  /** Adds paths to the queue; the queue drains through the pool, counting into the progress bar. */
  #enqueue(paths: string[], generation: number, watchAfter = this.#watcher !== null): void {
    if (generation !== this.#generation) return;
    const fresh = paths.filter((p) => !this.#pending.has(p));
    if (fresh.length === 0 && this.#pending.size > 0) return;
    const wasIdle = this.#pending.size === 0;
    if (wasIdle) {
      this.#done = 0;
      this.#total = 0;
      this.#passStarted = Date.now();
    }
    for (const p of fresh) this.#pending.add(p);
    this.#total += fresh.length;
    if (this.#phase !== 'scanning' || fresh.length > 0) this.#setPhase('ingesting');
    const jobs = fresh.map((rel) =>
      this.#pool.run(async () => {
        if (generation !== this.#generation || !this.#pending.has(rel)) return;
        let again = false;
        try {
          again = (await this.#processFile(rel, generation)) === 'changed';
        } catch (err) {
          // A failure here is ours (database, disk), not the file's: record it, keep going, and
          // still give the file its one outcome where the database lets us.
          const message = err instanceof Error ? err.message : String(err);
          this.#error = `${rel}: ${message}`;
          this.#recordFailure(rel, message);
        } finally {
          this.#pending.delete(rel);
          this.#done++;
          this.#emitProgress(false);
        }
        // Saved again while it was being decoded: the outcome written is for the old bytes; look again.
        if (again) this.#enqueue([rel], generation);
      }),
    );
    const previous = this.#idle;
    this.#idle = Promise.all([previous, ...jobs]).then(async () => {
      if (this.#pending.size > 0 || generation !== this.#generation) return;
      await this.cache.sync();
      this.#setPhase(this.#error ? 'error' : watchAfter ? 'watching' : 'stopped');
    });
  }

  /** Whether the dataset's folder itself is still there (a 'gone' file may mean the folder went). */
  async #folderGone(): Promise<boolean> {
    const st = await stat(this.#ds.folder).catch(() => null);
    if (st?.isDirectory()) return false;
    // Nothing is forgotten: the folder may be an unplugged drive that comes back.
    this.#error =
      `the folder ${this.#ds.folder} disappeared during the ingest (deleted, moved or unmounted); ` +
      'files already ingested are kept';
    return true;
  }

  /** A file whose processing failed on our side still gets a row saying so. */
  #recordFailure(rel: string, message: string): void {
    try {
      const existing = this.#store.getSource(this.#ds.id, rel);
      if (existing?.status === 'accepted') return; // its square is still good; the error is reported
      this.#write({
        dataset_id: this.#ds.id,
        path: rel,
        size: existing?.size ?? 0,
        mtime_ms: 0, // never "unchanged": the next pass looks again
        hash: null,
        status: 'rejected',
        reason: `could not be processed: ${message}`,
        duplicate_of: null,
        width: null,
        height: null,
        slot: null,
        thumb: null,
      });
    } catch {
      // The database itself is failing; the phase carries the error.
    }
  }

  /** 'changed' when the file was saved again while it was read and decoded. */
  async #processFile(rel: string, generation: number): Promise<'done' | 'changed'> {
    const dsId = this.#ds.id;
    const seen = await inspectFile(this.#rootReal, this.#ds.folder, rel);
    if (generation !== this.#generation) return 'done';
    const existing = this.#store.getSource(dsId, rel);

    if (seen.kind === 'gone' && (await this.#folderGone())) return 'done';
    await this.#settleFile(rel, generation, seen, existing);
    if (seen.kind !== 'image' || generation !== this.#generation) return 'done';
    const now = await stat(join(this.#ds.folder, rel)).catch(() => null);
    return now && now.size === seen.size && Math.trunc(now.mtimeMs) === seen.mtimeMs ? 'done' : 'changed';
  }

  /** Writes the one outcome of a file that was looked at: accepted, rejected, duplicate or forgotten. */
  async #settleFile(rel: string, generation: number, seen: Inspection, existing: SourceRow | undefined): Promise<void> {
    const dsId = this.#ds.id;
    if (seen.kind === 'gone' || seen.kind === 'ignored') {
      if (existing) await this.#forget(existing, generation);
      return;
    }
    const base = { dataset_id: dsId, path: rel, size: seen.size, mtime_ms: seen.mtimeMs, hash: seen.hash };
    if (seen.kind === 'rejected') {
      await this.#release(existing, generation);
      this.#write({
        ...base,
        status: 'rejected',
        reason: seen.reason,
        duplicate_of: null,
        width: null,
        height: null,
        slot: null,
        thumb: null,
      });
      return;
    }
    if (existing && existing.hash === seen.hash && existing.status !== 'rejected') {
      // Touched but not changed (or renamed back and forth): keep the decoded square.
      this.#write({ ...existing, size: seen.size, mtime_ms: seen.mtimeMs });
      return;
    }
    const twin = this.#claims.get(seen.hash) ?? this.#store.findAcceptedByHash(dsId, seen.hash)?.path;
    if (twin !== undefined && twin !== rel) {
      await this.#release(existing, generation);
      this.#write({
        ...base,
        status: 'duplicate',
        reason: null,
        duplicate_of: twin,
        width: null,
        height: null,
        slot: null,
        thumb: null,
      });
      return;
    }

    this.#claims.set(seen.hash, rel);
    try {
      const square = await renderSquare(seen.bytes, this.#ds, seen.format);
      await this.#afterDecode?.(rel);
      if (generation !== this.#generation) return;
      const dims = { width: square.upright?.width ?? null, height: square.upright?.height ?? null };
      if (!square.ok) {
        await this.#release(existing, generation);
        this.#write({
          ...base,
          status: 'rejected',
          reason: square.reason,
          duplicate_of: null,
          ...dims,
          slot: null,
          thumb: null,
        });
        return;
      }
      const slot = existing?.slot ?? this.#slots.take();
      const thumb = `${thumbsKey(dsId)}/${seen.hash.slice(0, 20)}.png`;
      await this.cache.writeSlot(slot, square.pixels);
      await writeFileAtomic(join(this.#home, thumb), await renderThumbnail(square.pixels, this.#ds.resolution), false);
      if (existing?.thumb && existing.thumb !== thumb) await removeInHome(this.#home, join(this.#home, existing.thumb));
      this.#write({ ...base, status: 'accepted', reason: null, duplicate_of: null, ...dims, slot, thumb });
    } finally {
      this.#claims.delete(seen.hash);
    }
    // If this file's content changed, files that duplicated its old content need a new look.
    if (existing && existing.hash !== seen.hash) this.#requeueDuplicatesOf(rel, generation);
  }

  /** A sub-folder the scan could not open gets a rejected row, so the user learns why its files are missing. */
  #writeUnreadable(relDir: string): void {
    this.#write({
      dataset_id: this.#ds.id,
      path: relDir,
      size: 0,
      mtime_ms: 0,
      hash: null,
      status: 'rejected',
      reason: `${PERMISSION_DENIED} (a folder)`,
      duplicate_of: null,
      width: null,
      height: null,
      slot: null,
      thumb: null,
    });
  }

  #write(row: Parameters<DatasetStore['upsertSource']>[0]): void {
    this.#store.upsertSource(row);
    this.emit('changed');
  }

  /** Frees what an accepted file held (slot, thumbnail) when it stops being accepted. */
  async #release(row: SourceRow | undefined, generation: number): Promise<void> {
    if (!row || row.status !== 'accepted') return;
    if (row.slot !== null) this.#slots.release(row.slot);
    if (row.thumb) await removeInHome(this.#home, join(this.#home, row.thumb));
    this.#store.upsertSource({ ...row, status: 'rejected', reason: 'changed', slot: null, thumb: null });
    this.#requeueDuplicatesOf(row.path, generation);
  }

  async #forget(row: SourceRow, generation: number): Promise<void> {
    await this.#release(row, generation);
    this.#store.deleteSource(this.#ds.id, row.path);
    this.emit('changed');
  }

  /** The first duplicate of a file that went away becomes the accepted one. */
  #requeueDuplicatesOf(path: string, generation: number): void {
    const dups = this.#store.listDuplicatesOf(this.#ds.id, path).map((d) => d.path);
    if (dups.length === 0) return;
    // Clear their "duplicate" mark so the re-check does not take them for unchanged.
    this.#store.transaction(() => {
      for (const d of dups) {
        const row = this.#store.getSource(this.#ds.id, d);
        if (row) this.#store.upsertSource({ ...row, hash: null });
      }
    });
    queueMicrotask(() => this.#enqueue(dups, generation));
  }

  #setPhase(phase: IngestPhase): void {
    this.#phase = phase;
    this.#emitProgress(true);
  }

  #fail(err: Error): void {
    this.#error = err.message;
    this.#setPhase('error');
  }

  #emitProgress(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastEmit < this.#progressIntervalMs && this.#done < this.#total) return;
    this.#lastEmit = now;
    this.emit('progress', this.progress);
  }
}
