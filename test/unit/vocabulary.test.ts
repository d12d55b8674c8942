// The vocabulary (main/common/vocabulary.ts) spells each domain list once; SQL cannot import it, and
// shipped migrations are never edited, so these tests hold the schema's CHECK lists to it: a word
// added to the vocabulary without a migration that lets the store keep it fails here, not in a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../main/core/store/db.js';
import {
  CROP_MODES,
  GALLERY_NOISE_MODES,
  MAX_PSI,
  RESOLUTIONS,
  RUN_STATES,
  SOURCE_STATUSES,
} from '../../main/common/vocabulary.js';
import { BACKEND_NAMES } from '../../main/core/runtime/backend-info.js';
import { PRESET_NAMES } from '../../main/core/gan/config.js';
import { BACKENDS, PRESETS } from '../../preload/contract.js';

/** The fully migrated schema's CREATE TABLE statement for `table`. */
function tableSql(table: string): string {
  const db = openDatabase(':memory:');
  try {
    const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as
      { sql: string } | undefined;
    assert.ok(row, `no table ${table}`);
    return row.sql;
  } finally {
    db.close();
  }
}

/** The values of `CHECK (column IN (…))` in a CREATE TABLE statement, as written (quotes dropped). */
function checkList(sql: string, column: string): string[] {
  const m = new RegExp(`CHECK \\(${column} IN \\(([^)]*)\\)\\)`).exec(sql);
  assert.ok(m, `no CHECK (${column} IN (…)) in ${sql}`);
  return m[1]!.split(',').map((v) => v.trim().replace(/^'(.*)'$/, '$1'));
}

test("the store's CHECK lists are the vocabulary's words, in its order", () => {
  assert.deepEqual(checkList(tableSql('runs'), 'state'), [...RUN_STATES]);
  assert.deepEqual(checkList(tableSql('datasets'), 'resolution'), RESOLUTIONS.map(String));
  assert.deepEqual(checkList(tableSql('datasets'), 'crop'), [...CROP_MODES]);
  assert.deepEqual(checkList(tableSql('sources'), 'status'), [...SOURCE_STATUSES]);
  assert.deepEqual(checkList(tableSql('favourites'), 'noise_mode'), [...GALLERY_NOISE_MODES]);
});

test("the favourites' ψ range is the vocabulary's", () => {
  assert.match(tableSql('favourites'), new RegExp(`CHECK \\(psi BETWEEN 0 AND ${MAX_PSI}\\)`));
});

test('the GAN and the contract name the presets and backends with the vocabulary’s own lists', () => {
  // The same array objects, not equal copies: a second spelling would be a second list to keep.
  assert.equal(PRESET_NAMES, PRESETS);
  assert.equal(BACKEND_NAMES, BACKENDS);
});
