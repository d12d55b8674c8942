import type { Migration } from '../db.js';

/** Datasets (one per folder × resolution × crop) and the source files seen in their folders. */
export const migration0001: Migration = {
  version: 1,
  name: 'datasets and sources',
  up: `
    CREATE TABLE datasets (
      id          INTEGER PRIMARY KEY,
      folder      TEXT    NOT NULL,               -- absolute path, as the user chose it
      resolution  INTEGER NOT NULL CHECK (resolution IN (64, 128, 256, 512, 1024)),
      crop        TEXT    NOT NULL CHECK (crop IN ('centre', 'subject', 'pad')),
      paper       TEXT    NOT NULL,               -- '#rrggbb' used for alpha and padding
      created_at  INTEGER NOT NULL,               -- unix ms
      opened_at   INTEGER NOT NULL,               -- unix ms, last time it was opened
      UNIQUE (folder, resolution, crop)
    ) STRICT;

    CREATE TABLE sources (
      id            INTEGER PRIMARY KEY,
      dataset_id    INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
      path          TEXT    NOT NULL,             -- relative to the folder, forward slashes
      size          INTEGER NOT NULL,             -- bytes, at processing time
      mtime_ms      INTEGER NOT NULL,             -- at processing time
      hash          TEXT,                         -- sha256 of the file's bytes (null if unreadable)
      status        TEXT    NOT NULL CHECK (status IN ('accepted', 'rejected', 'duplicate')),
      reason        TEXT,                         -- why rejected
      duplicate_of  TEXT,                         -- path of the accepted twin
      width         INTEGER,                      -- upright (after EXIF orientation)
      height        INTEGER,
      slot          INTEGER,                      -- index into the packed cache (accepted only)
      thumb         TEXT,                         -- media key of the thumbnail (accepted only)
      updated_at    INTEGER NOT NULL,
      UNIQUE (dataset_id, path),
      UNIQUE (dataset_id, slot)
    ) STRICT;

    CREATE INDEX sources_dataset_hash ON sources (dataset_id, hash, status);
    CREATE INDEX sources_dataset_status_path ON sources (dataset_id, status, path);
  `,
};
