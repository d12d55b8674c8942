import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { handleRequest } from '../../main/core/api/handler.js';
import { GALLERY_FIELDS } from '../../main/core/api/validate-gallery.js';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';

// Issue 16, item 4: names and notes cannot hold what acts on a terminal or reorders text, in
// every shell (the request schemas and the core both refuse it), and whatever the database holds
// all the same (kept by an older version) is printed by the CLI as escapes, never as itself.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let gen: string;

const OSC_TITLE = '\u001b]0;pwned\u0007'; // retitles the terminal
const C1_CSI = '\u009b31m'; // a one-byte CSI: red text where C1 controls are honoured
const RLO = '\u202e'; // "sheet‮fdp.exe.pdf" reads as "sheet" + "fdp.exe" reversed

before(async () => {
  tmp = tempDir('terminal-text');
  gen = join(tmp.dir, 'g.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '2', '--out', gen]);
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    galleryInProcess: true,
  });
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

async function refused(method: string, params: unknown, pattern: RegExp): Promise<void> {
  const reply = await handleRequest(studio, method, params);
  assert.equal(reply.ok, false, `${method} ${JSON.stringify(params).slice(0, 80)} should be refused`);
  const { code, message } = (reply as { error: { code: string; message: string } }).error;
  assert.equal(code, 'invalid-input');
  assert.match(message, pattern);
}

test('names and notes refuse control characters and bidirectional overrides, in the schemas and the core', async () => {
  const base = { generator: { file: gen }, seed: 1, psi: 0.7, noiseMode: 'const' };
  await refused('addFavourite', { ...base, name: `sheet${RLO}fdp.exe` }, /name: cannot hold U\+202E, a character that reorders/); // prettier-ignore
  await refused('addFavourite', { ...base, note: `hello ${OSC_TITLE}` }, /note: cannot hold control characters .*U\+001B/); // prettier-ignore
  await refused('addFavourite', { ...base, note: C1_CSI }, /note: cannot hold control characters .*U\+009B/);
  await refused('addFavourite', { ...base, name: 'a\u2028b' }, /name: cannot hold control characters .*U\+2028/);
  const kept = await handleRequest(studio, 'addFavourite', { ...base, name: 'عصفور', note: 'line one\nline two\tend' });
  assert.ok(kept.ok, 'line breaks and tabs in a note, and right-to-left letters in a name, are fine');
  const id = (kept as { result: { id: number } }).result.id;
  await refused('updateFavourite', { id, name: `x${RLO}` }, /name: cannot hold U\+202E/);
  await refused('updateFavourite', { id, note: OSC_TITLE }, /note: cannot hold control characters/);
  await refused('createRun', { datasetId: 1, preset: 'tiny', targetKimg: 1, snapshotKimg: 1, checkpointKimg: 1, name: `r${RLO}` }, /name: cannot hold U\+202E/); // prettier-ignore
  const sheet = {
    favourites: 'all',
    options: { paper: 'A5', orientation: 'portrait', tone: 'white' },
    folder: tmp.dir,
  };
  await refused('exportContactSheet', { ...sheet, fileName: `sheet${RLO}fdp.exe.pdf` }, /fileName: .*U\+202E/);
  await refused('interpolate', { favouriteIds: [id, id], space: 'w', frames: 2, fps: 1, format: 'gif', outDir: tmp.dir, name: `a${RLO}b` }, /name: .*U\+202E/); // prettier-ignore
  // The core refuses the same, for a caller that skips the schemas.
  await assert.rejects(studio.addFavourite({ ...base, noiseMode: 'const', name: `sheet${RLO}fdp.exe` }), /U\+202E/);
  await assert.rejects(studio.updateFavourite({ id, note: OSC_TITLE }), /control characters/);
  assert.equal(studio.gallery.getFavourite(id).note, 'line one\nline two\tend');
});

test('one note limit: the schema, the core and the CLI say the same number', async () => {
  const limit = 10_000;
  assert.equal(GALLERY_FIELDS.note.safeParse('x'.repeat(limit)).success, true);
  const base = { generator: { file: gen }, seed: 5, psi: 0.7, noiseMode: 'const' };
  await refused('addFavourite', { ...base, note: 'x'.repeat(limit + 1) }, /^invalid input for addFavourite: note: must be at most 10000 characters$/); // prettier-ignore
  await assert.rejects(
    studio.addFavourite({ ...base, noiseMode: 'const', note: 'x'.repeat(limit + 1) }),
    /a note is at most 10000 characters/,
  );
  const h = join(tmp.dir, 'limit-home');
  const cli = await run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', gen, '--seed', '1', '--note', 'x'.repeat(15_000), '--home', h]).catch((e: { code: number; stderr: string }) => e); // prettier-ignore
  assert.equal((cli as { code: number }).code, 2);
  assert.match((cli as { stderr: string }).stderr, /--note must be at most 10000 characters/);
});

test('the CLI prints what the database holds as escapes: no terminal control reaches the terminal', async () => {
  const h = join(tmp.dir, 'cli-home');
  await run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', gen, '--seed', '3', '--name', 'Plain', '--home', h]); // prettier-ignore
  // As an older version kept them, before names and notes were checked.
  const db = new Database(join(h, 'plumage.db'));
  db.prepare('UPDATE favourites SET name = ?, note = ?').run(
    `sheet${RLO}fdp.exe`,
    `${OSC_TITLE} and ${C1_CSI} red\nnext`,
  );
  db.close();
  const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u; // eslint-disable-line no-control-regex

  const list = await run(process.execPath, [CLI, 'favourite', 'list', '--home', h]);
  assert.doesNotMatch(list.stdout, raw, 'no control character or override reaches the terminal');
  assert.match(list.stdout, /sheet\\u202efdp\.exe — seed 3/);
  assert.match(list.stdout, /\\e\]0;pwned\\x07 and \\x9b31m red\\nnext/);
  assert.equal(list.stdout.trim().split('\n').length, 1, 'one favourite, one line');

  const json = await run(process.execPath, [CLI, 'favourite', 'list', '--json', '--home', h]);
  assert.doesNotMatch(json.stdout, raw);
  const [fav] = JSON.parse(json.stdout) as { name: string; note: string }[];
  assert.equal(fav!.name, `sheet${RLO}fdp.exe`, 'JSON still carries the exact text');
  assert.equal(fav!.note, `${OSC_TITLE} and ${C1_CSI} red\nnext`);

  // Error messages too: a folder named with an escape sequence, in a message on stderr.
  const bad = join(tmp.dir, `plates${OSC_TITLE}`);
  const err = await run(process.execPath, [CLI, 'ingest', bad, '--resolution', '64', '--home', h]).catch(
    (e: { stderr: string }) => e,
  );
  assert.match((err as { stderr: string }).stderr, /folder not found: .*plates\\e\]0;pwned\\x07/);
  assert.doesNotMatch((err as { stderr: string }).stderr, raw);
});
