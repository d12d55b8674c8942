import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MIGRATIONS } from './migrations/index.js';

export type Db = Database.Database;

export interface Migration {
  version: number;
  name: string;
  /**
   * SQL run inside the runner's transaction, or a function for a change SQL cannot say alone;
   * it gets the home the database lives in (its folder; null for `:memory:`).
   */
  up: string | ((db: Db, home: string | null) => void);
}

export class DatabaseTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
    file: string,
  ) {
    super(
      `The database ${file} was written by a newer Plumage (schema version ${found}; this version ` +
        `understands up to ${supported}). Update Plumage, or point it at another home with --home.`,
    );
    this.name = 'DatabaseTooNewError';
  }
}

/**
 * A database SQLite cannot read whole. Plumage refuses to open it rather than start on an empty
 * view (or, worse, recreate it and hand out the ids of runs whose files are still on disk).
 */
export class DatabaseDamagedError extends Error {
  readonly code = 'database-damaged';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(
      `the database ${file} is damaged (${problem}). Plumage has not changed it. Quit Plumage, then move ` +
        `it aside (rename it, e.g. to plumage.db.damaged, with its -wal and -shm files) to start a fresh ` +
        `database (checkpoints and sample grids stay on disk), or restore plumage.db from a backup; ` +
        `then start Plumage again.`,
    );
    this.name = 'DatabaseDamagedError';
  }
}

/** SQLite's codes for a file that is not (or no longer) a readable database. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE']);

/**
 * Opens (creating if needed) the database, checks that it is whole, and brings its schema up
 * to date. WAL lets the UI read while ingest or training writes; `synchronous = NORMAL` is
 * crash-safe under WAL (a power cut can lose the last transactions, never corrupt).
 */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw asDamage(err, file);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    checkIntegrity(db, file);
    migrate(db, migrations, file);
    return db;
  } catch (err) {
    db.close();
    throw asDamage(err, file);
  }
}

/**
 * `PRAGMA quick_check`: every page and record readable, without integrity_check's index
 * cross-checks (linear in the file's size; see docs/DECISIONS.md for the measured cost).
 */
export function checkIntegrity(db: Db, file: string): void {
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check.replace(/\s+/g, ' ')).filter((r) => r !== 'ok');
  if (problems.length > 0) throw new DatabaseDamagedError(file, `quick_check: ${problems.join('; ')}`);
}

function asDamage(err: unknown, file: string): unknown {
  const code = (err as { code?: string }).code;
  if (code && DAMAGE_CODES.has(code)) return new DatabaseDamagedError(file, (err as Error).message);
  return err;
}

/** Applies every migration above `PRAGMA user_version`, each in its own transaction with its version bump. */
export function migrate(db: Db, migrations: readonly Migration[], file = ':memory:'): void {
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) throw new DatabaseTooNewError(current, latest, file);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db, file === ':memory:' ? null : dirname(resolve(file)));
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
