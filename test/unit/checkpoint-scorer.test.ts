import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase, type Db } from '../../main/core/store/db.js';
import { MIGRATIONS } from '../../main/core/store/migrations/index.js';
import { RunStore, type CheckpointRow } from '../../main/core/store/runs.js';
import { ScoreStore } from '../../main/core/store/scores.js';
import { CheckpointScorer, type Score, type ScoreCheckpoint } from '../../main/core/insight/checkpoint-scorer.js';
import type { CheckpointScore } from '../../preload/contract.js';
import { databaseAt, newRunRow } from '../helpers/runs.js';

const HOME = '/plumage-home';

function homeDb(): { db: Db; runs: RunStore; scores: ScoreStore } {
  const db = openDatabase(':memory:');
  db.exec(
    `INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at)
     VALUES (1, '/p', 64, 'centre', '#fff', 0, 0)`,
  );
  return { db, runs: new RunStore(db, HOME), scores: new ScoreStore(db, HOME) };
}

const ckpt = (runs: RunStore, runId: number, step: number): CheckpointRow =>
  runs.recordCheckpoint(runId, { kimg: step / 1000, step, path: `${HOME}/c/${runId}-${step}`, sha256: 'x', bytes: 1 });

const score = (images: number, kid = 0.01): Score => ({
  kid,
  kidStd: 0.002,
  images,
  memorisation: 0,
  label: `Plumage KID (InceptionV3 mixed5, ${images} images)`,
});

/** A score function the test answers by hand: each call waits until the test resolves or rejects it. */
function manualScores() {
  const calls: {
    c: CheckpointRow;
    images: number;
    signal: AbortSignal;
    ok: (s: Score) => void;
    fail: (e: Error) => void;
  }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fn: ScoreCheckpoint = (c, images, signal) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<Score>((ok, fail) => {
      calls.push({ c, images, signal, ok, fail });
      signal.addEventListener('abort', () => fail(new Error('aborted')));
    }).finally(() => inFlight--);
  };
  return { fn, calls, maxInFlight: () => maxInFlight };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
};

test('one score at a time; when it falls behind, only the newest checkpoint of each run waits', async () => {
  const { runs, scores } = homeDb();
  const a = runs.createRun(newRunRow(1, { kid_images: 50 }));
  const b = runs.createRun(newRunRow(1, { kid_images: 20 }));
  const m = manualScores();
  const scorer = new CheckpointScorer(scores, m.fn, () => {});
  const heard: CheckpointScore[] = [];
  scorer.on('scored', (s) => heard.push(s));

  const a1 = ckpt(runs, a.id, 10);
  scorer.checkpointWritten(a1);
  scorer.checkpointWritten(ckpt(runs, a.id, 20)); // waits…
  const b1 = ckpt(runs, b.id, 5);
  scorer.checkpointWritten(b1);
  const a3 = ckpt(runs, a.id, 30); // …and is replaced by this one
  scorer.checkpointWritten(a3);
  assert.equal(scorer.pending, 3);
  await until(() => m.calls.length === 1);
  assert.equal(m.calls[0]!.c.id, a1.id);
  assert.equal(m.calls[0]!.images, 50, "the run's own setting");
  m.calls[0]!.ok(score(50, 0.5));
  await until(() => m.calls.length === 2);
  assert.equal(m.calls[1]!.c.id, b1.id);
  assert.equal(m.calls[1]!.images, 20);
  m.calls[1]!.ok(score(20, 0.4));
  await until(() => m.calls.length === 3);
  assert.equal(m.calls[2]!.c.id, a3.id);
  m.calls[2]!.ok(score(50, 0.3));
  await scorer.whenIdle();

  assert.equal(m.maxInFlight(), 1, 'never two at once');
  assert.deepEqual(
    scores.listForRun(a.id).map((s) => [s.step, s.kid, s.images]),
    [
      [10, 0.5, 50],
      [30, 0.3, 50],
    ],
  );
  assert.deepEqual(
    heard.map((s) => s.checkpointId),
    [a1.id, b1.id, a3.id],
  );
  assert.match(heard[0]!.label, /^Plumage KID \(InceptionV3 mixed5, 50 images\)$/);
});

test('a score that fails is stored with its reason, and the next checkpoint is still scored', async () => {
  const { runs, scores } = homeDb();
  const run = runs.createRun(newRunRow(1, { kid_images: 8 }));
  const logged: string[] = [];
  let n = 0;
  const scorer = new CheckpointScorer(
    scores,
    async (_c, images) => {
      if (n++ === 0) throw new Error('cannot open the checkpoint: ENOENT\nstack…');
      return score(images);
    },
    (l) => logged.push(l),
  );
  const c1 = ckpt(runs, run.id, 10);
  scorer.checkpointWritten(c1);
  await scorer.whenIdle();
  const c2 = ckpt(runs, run.id, 20);
  scorer.checkpointWritten(c2);
  await scorer.whenIdle();
  const [failed, ok] = scores.listForRun(run.id);
  assert.equal(failed!.kid, null);
  assert.equal(failed!.error, 'cannot open the checkpoint: ENOENT');
  assert.equal(failed!.label, 'Plumage KID (InceptionV3 mixed5, 8 images)');
  assert.equal(ok!.kid, 0.01);
  assert.equal(ok!.error, null);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /run \d+'s checkpoint at 0\.010 kimg: cannot open/);
  // A failure is a score: a restart does not retry it forever.
  assert.deepEqual(scores.unscored(), []);
});

test('a checkpoint retention deleted (before its turn, or while it was read) is skipped, not stored as a failure', async () => {
  const { runs, scores } = homeDb();
  const run = runs.createRun(newRunRow(1, { kid_images: 8 }));
  const deleted = new Set<number>();
  const logged: string[] = [];
  const m = manualScores();
  const scorer = new CheckpointScorer(
    scores,
    m.fn,
    (l) => logged.push(l),
    (c) => deleted.has(c.id),
  );
  const heard: CheckpointScore[] = [];
  scorer.on('scored', (s) => heard.push(s));
  const c1 = ckpt(runs, run.id, 10);
  scorer.checkpointWritten(c1);
  await until(() => m.calls.length === 1);
  // Deleted while its score reads it: the read fails, and the failure is not the score's.
  deleted.add(c1.id);
  m.calls[0]!.fail(new Error(`ENOENT: no such file, open '${c1.path}'`));
  await scorer.whenIdle();
  // Deleted before its turn: never read at all.
  const c2 = ckpt(runs, run.id, 20);
  deleted.add(c2.id);
  scorer.checkpointWritten(c2);
  await scorer.whenIdle();
  assert.equal(m.calls.length, 1, 'the deleted one was not read');
  const c3 = ckpt(runs, run.id, 30);
  scorer.checkpointWritten(c3);
  await until(() => m.calls.length === 2);
  m.calls[1]!.ok(score(8));
  await scorer.whenIdle();
  assert.deepEqual(
    scores.listForRun(run.id).map((s) => [s.checkpointId, s.error]),
    [[c3.id, null]],
    'only the checkpoint that stayed has a score; no failure rows',
  );
  assert.deepEqual(
    heard.map((s) => s.checkpointId),
    [c3.id],
  );
  assert.deepEqual(logged, []);
});

test('a restart picks up the checkpoints without a score: not damaged ones, not runs that turned scoring off', async () => {
  const { db, runs, scores } = homeDb();
  const on = runs.createRun(newRunRow(1, { kid_images: 10 }));
  const off = runs.createRun(newRunRow(1, { kid_images: 0 }));
  const done = ckpt(runs, on.id, 10);
  scores.record({ ...score(10), checkpointId: done.id, runId: on.id, kimg: done.kimg, step: done.step, error: null });
  const c2 = ckpt(runs, on.id, 20);
  const c3 = ckpt(runs, on.id, 30);
  const bad = ckpt(runs, on.id, 40);
  runs.markCheckpointDamaged(bad.id, 'hash mismatch');
  ckpt(runs, off.id, 10);

  // "Restart": a scorer over the same database that has never heard of these checkpoints.
  const seen: number[] = [];
  const scorer = new CheckpointScorer(
    scores,
    async (c, images) => (seen.push(c.id), score(images)),
    () => {},
  );
  assert.equal(scorer.catchUp(), 2);
  assert.equal(scorer.catchUp(), 0, 'what waits is not queued twice');
  await scorer.whenIdle();
  assert.deepEqual(seen, [c2.id, c3.id], 'oldest first, each once');
  assert.deepEqual(
    scores.listForRun(on.id).map((s) => s.step),
    [10, 20, 30],
  );
  assert.deepEqual(scores.listForRun(off.id), []);
  // A run that asks for none is never queued live either.
  const s2 = new CheckpointScorer(
    scores,
    async () => assert.fail('scored a run with scoring off'),
    () => {},
  );
  s2.checkpointWritten(ckpt(runs, off.id, 20));
  assert.equal(s2.pending, 0);
  db.close();
});

test('closing stops the score in flight and stores nothing for it; the next start scores it', async () => {
  const { runs, scores } = homeDb();
  const run = runs.createRun(newRunRow(1, { kid_images: 10 }));
  const m = manualScores();
  const scorer = new CheckpointScorer(scores, m.fn, () => assert.fail('a close is not a failure'));
  const c = ckpt(runs, run.id, 10);
  scorer.checkpointWritten(c);
  scorer.checkpointWritten(ckpt(runs, run.id, 20));
  await until(() => m.calls.length === 1);
  await scorer.close();
  assert.ok(m.calls[0]!.signal.aborted);
  assert.deepEqual(scores.listForRun(run.id), []);
  scorer.checkpointWritten(ckpt(runs, run.id, 30));
  assert.equal(scorer.pending, 0, 'a closed scorer takes nothing');
  const again = new CheckpointScorer(
    scores,
    async (_c, images) => score(images),
    () => {},
  );
  assert.equal(again.catchUp(), 3);
  await again.whenIdle();
  assert.equal(scores.listForRun(run.id).length, 3);
});

test('scores outlive retention (the curve keeps its points) and go with their run', async () => {
  const { runs, scores } = homeDb();
  const run = runs.createRun(newRunRow(1));
  assert.equal(run.kid_images, 1000, 'the default is the issue’s 1,000 birds');
  const c = ckpt(runs, run.id, 10);
  scores.record({ ...score(1000), checkpointId: c.id, runId: run.id, kimg: c.kimg, step: c.step, error: null });
  assert.equal(scores.forCheckpoint(c.id)!.kid, 0.01);
  assert.ok(runs.deleteCheckpoint(c.id), 'a score does not hold its checkpoint back');
  const [kept] = scores.listForRun(run.id);
  assert.equal(kept!.checkpointId, null);
  assert.equal(kept!.step, 10);
  // A checkpoint deleted before its score was stored gets none (nothing to point at).
  assert.equal(
    scores.record({ ...score(1000), checkpointId: c.id, runId: run.id, kimg: 0, step: 0, error: null }),
    null,
  );
  // A run resumed from an earlier checkpoint forgets the scores past it, as it forgets the ticks.
  const c2 = ckpt(runs, run.id, 20);
  const c3 = ckpt(runs, run.id, 30);
  for (const c of [c2, c3])
    scores.record({ ...score(1000), checkpointId: c.id, runId: run.id, kimg: c.kimg, step: c.step, error: null });
  runs.truncateAfter(run.id, 20);
  assert.deepEqual(
    scores.listForRun(run.id).map((s) => s.step),
    [10, 20],
  );
  runs.deleteRun(run.id);
  assert.deepEqual(scores.listForRun(run.id), []);
});

test("a run's lineage: the runs it came from and every fork of them, the asked run first", () => {
  const { runs, scores } = homeDb();
  const root = runs.createRun(newRunRow(1));
  const c = ckpt(runs, root.id, 10);
  const fork = runs.createRun(newRunRow(1, { parent_run_id: root.id, parent_checkpoint_id: c.id }));
  const c2 = ckpt(runs, fork.id, 20);
  const grandchild = runs.createRun(newRunRow(1, { parent_run_id: fork.id, parent_checkpoint_id: c2.id }));
  const sibling = runs.createRun(newRunRow(1, { parent_run_id: root.id, parent_checkpoint_id: c.id }));
  const stranger = runs.createRun(newRunRow(1));
  assert.deepEqual(scores.lineage(grandchild.id), [grandchild.id, root.id, fork.id, sibling.id]);
  assert.deepEqual(scores.lineage(root.id), [root.id, fork.id, grandchild.id, sibling.id]);
  assert.deepEqual(scores.lineage(stranger.id), [stranger.id]);
  assert.deepEqual(scores.lineage(9999), []);
});

test('migration 10 on a version-9 home: runs keep going with 1,000 birds per score, scores are checked', () => {
  const db = databaseAt(9, { state: 'paused', kimg: 0.1, path: 'c' });
  migrate(db, MIGRATIONS);
  const scores = new ScoreStore(db, HOME);
  assert.equal(scores.kidImages(1), 1000);
  assert.deepEqual(
    scores.unscored().map((c) => [c.id, c.path]),
    [[7, `${HOME}/c`]],
    'an old checkpoint is scored at the next start (its path made absolute)',
  );
  assert.throws(() => db.exec('UPDATE runs SET kid_images = -1'), /CHECK constraint failed/);
  // A score is a number with no error, or an error with no number: never both, never neither.
  const insert = (kid: string, error: string): unknown =>
    db.exec(`INSERT INTO checkpoint_scores (checkpoint_id, run_id, kimg, step, kid, images, label, error, computed_at)
             VALUES (7, 1, 0.1, 10, ${kid}, 10, 'l', ${error}, 0)`);
  assert.throws(() => insert('0.1', "'why'"), /CHECK constraint failed/);
  assert.throws(() => insert('NULL', 'NULL'), /CHECK constraint failed/);
  insert('0.1', 'NULL');
  assert.throws(() => insert('0.2', 'NULL'), /UNIQUE constraint failed/, 'one score per checkpoint');
  db.close();
});
