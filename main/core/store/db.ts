import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations/index.js';

export type Db = Database.Database;

export interface Migration {
  version: number;
  name: string;
  /** SQL run inside the runner's transaction. */
  up: string;
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
 * Opens (creating if needed) the database and brings its schema up to date.
 * WAL lets the UI read while ingest or training writes; `synchronous = NORMAL` is
 * crash-safe under WAL (a power cut can lose the last transactions, never corrupt).
 */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
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
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
