import type { CropMode, Resolution, SourceStatus } from '../../common/vocabulary.js';
import type { DatasetCounts, SourceItem } from '../../common/records.js';
import type { Db } from './db.js';

export interface DatasetRow {
  id: number;
  folder: string;
  resolution: Resolution;
  crop: CropMode;
  paper: string;
  created_at: number;
  opened_at: number;
}

export interface SourceRow {
  id: number;
  dataset_id: number;
  path: string;
  size: number;
  mtime_ms: number;
  hash: string | null;
  status: SourceStatus;
  reason: string | null;
  duplicate_of: string | null;
  width: number | null;
  height: number | null;
  slot: number | null;
  thumb: string | null;
  updated_at: number;
}

export type SourceWrite = Omit<SourceRow, 'id' | 'updated_at'>;

/** Queries for datasets and their source files, named verb + noun. */
export class DatasetStore {
  readonly #db: Db;
  readonly #stmts;

  constructor(db: Db) {
    this.#db = db;
    this.#stmts = {
      getDataset: db.prepare<[number], DatasetRow>('SELECT * FROM datasets WHERE id = ?'),
      findDataset: db.prepare<[string, number, string], DatasetRow>(
        'SELECT * FROM datasets WHERE folder = ? AND resolution = ? AND crop = ?',
      ),
      listDatasets: db.prepare<[], DatasetRow>('SELECT * FROM datasets ORDER BY opened_at DESC, id DESC'),
      insertDataset: db.prepare(
        'INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      topDatasetId: db.prepare<[], { top: number }>('SELECT coalesce(max(id), 0) AS top FROM datasets'),
      touchDataset: db.prepare('UPDATE datasets SET opened_at = ? WHERE id = ?'),
      countSources: db.prepare<[number], { status: SourceStatus; n: number }>(
        'SELECT status, count(*) AS n FROM sources WHERE dataset_id = ? GROUP BY status',
      ),
      getSource: db.prepare<[number, string], SourceRow>('SELECT * FROM sources WHERE dataset_id = ? AND path = ?'),
      listAllSources: db.prepare<[number], SourceRow>('SELECT * FROM sources WHERE dataset_id = ?'),
      pageSources: db.prepare<[number, string, number, number], SourceRow>(
        'SELECT * FROM sources WHERE dataset_id = ? AND status = ? ORDER BY path LIMIT ? OFFSET ?',
      ),
      countStatus: db.prepare<[number, string], { n: number }>(
        'SELECT count(*) AS n FROM sources WHERE dataset_id = ? AND status = ?',
      ),
      findAcceptedByHash: db.prepare<[number, string], SourceRow>(
        "SELECT * FROM sources WHERE dataset_id = ? AND hash = ? AND status = 'accepted' LIMIT 1",
      ),
      listDuplicatesOf: db.prepare<[number, string], SourceRow>(
        "SELECT * FROM sources WHERE dataset_id = ? AND status = 'duplicate' AND duplicate_of = ? ORDER BY path",
      ),
      upsertSource: db.prepare(`
        INSERT INTO sources (dataset_id, path, size, mtime_ms, hash, status, reason, duplicate_of, width, height, slot, thumb, updated_at)
        VALUES (@dataset_id, @path, @size, @mtime_ms, @hash, @status, @reason, @duplicate_of, @width, @height, @slot, @thumb, @updated_at)
        ON CONFLICT (dataset_id, path) DO UPDATE SET
          size = excluded.size, mtime_ms = excluded.mtime_ms, hash = excluded.hash, status = excluded.status,
          reason = excluded.reason, duplicate_of = excluded.duplicate_of, width = excluded.width,
          height = excluded.height, slot = excluded.slot, thumb = excluded.thumb, updated_at = excluded.updated_at`),
      deleteSource: db.prepare('DELETE FROM sources WHERE dataset_id = ? AND path = ?'),
      usedSlots: db.prepare<[number], { slot: number }>(
        'SELECT slot FROM sources WHERE dataset_id = ? AND slot IS NOT NULL ORDER BY slot',
      ),
      acceptedSlots: db.prepare<[number], { slot: number; path: string }>(
        "SELECT slot, path FROM sources WHERE dataset_id = ? AND status = 'accepted' ORDER BY slot",
      ),
    };
  }

  getSourceById(datasetId: number, sourceId: number): SourceRow | undefined {
    return this.#db
      .prepare<[number, number], SourceRow>('SELECT * FROM sources WHERE dataset_id = ? AND id = ?')
      .get(datasetId, sourceId);
  }

  /** Removes a dataset's row and, by cascade, its file list. */
  deleteDataset(id: number): void {
    this.#db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
  }

  getDataset(id: number): DatasetRow | undefined {
    return this.#stmts.getDataset.get(id);
  }

  /**
   * Finds the dataset for this folder × resolution × crop, creating it on first use with an id
   * above every id in the table and at least `minId` (one above the datasets with files on disk,
   * so a new dataset never inherits an old one's cache). One transaction: look-up and insert.
   */
  ensureDataset(folder: string, resolution: Resolution, crop: CropMode, paper: string, minId = 1): DatasetRow {
    return this.transaction(() => {
      const now = Date.now();
      const found = this.#stmts.findDataset.get(folder, resolution, crop);
      if (found) {
        this.#stmts.touchDataset.run(now, found.id);
        return { ...found, opened_at: now };
      }
      const id = Math.max(this.#stmts.topDatasetId.get()!.top + 1, minId);
      this.#stmts.insertDataset.run(id, folder, resolution, crop, paper, now, now);
      return this.getDataset(id)!;
    });
  }

  listDatasets(): DatasetRow[] {
    return this.#stmts.listDatasets.all();
  }

  countSources(datasetId: number): DatasetCounts {
    const counts: DatasetCounts = { accepted: 0, rejected: 0, duplicates: 0 };
    for (const { status, n } of this.#stmts.countSources.all(datasetId)) {
      if (status === 'accepted') counts.accepted = n;
      else if (status === 'rejected') counts.rejected = n;
      else counts.duplicates = n;
    }
    return counts;
  }

  getSource(datasetId: number, path: string): SourceRow | undefined {
    return this.#stmts.getSource.get(datasetId, path);
  }

  listAllSources(datasetId: number): SourceRow[] {
    return this.#stmts.listAllSources.all(datasetId);
  }

  pageSources(
    datasetId: number,
    status: SourceStatus,
    offset: number,
    limit: number,
  ): { total: number; items: SourceItem[] } {
    const total = this.#stmts.countStatus.get(datasetId, status)!.n;
    const items = this.#stmts.pageSources.all(datasetId, status, limit, offset).map(toSourceItem);
    return { total, items };
  }

  findAcceptedByHash(datasetId: number, hash: string): SourceRow | undefined {
    return this.#stmts.findAcceptedByHash.get(datasetId, hash);
  }

  listDuplicatesOf(datasetId: number, path: string): SourceRow[] {
    return this.#stmts.listDuplicatesOf.all(datasetId, path);
  }

  upsertSource(row: SourceWrite): void {
    this.#stmts.upsertSource.run({ ...row, updated_at: Date.now() });
  }

  deleteSource(datasetId: number, path: string): void {
    this.#stmts.deleteSource.run(datasetId, path);
  }

  usedSlots(datasetId: number): number[] {
    return this.#stmts.usedSlots.all(datasetId).map((r) => r.slot);
  }

  /** Accepted images in cache order: what a trainer samples from. */
  acceptedSlots(datasetId: number): { slot: number; path: string }[] {
    return this.#stmts.acceptedSlots.all(datasetId);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}

export function toSourceItem(r: SourceRow): SourceItem {
  return {
    id: r.id,
    file: r.path,
    status: r.status,
    reason: r.reason,
    duplicateOf: r.duplicate_of,
    width: r.width,
    height: r.height,
    thumb: r.thumb,
  };
}
