/**
 * What a trainer's exit means, as a table without processes: each rule of "Runs survive anything"
 * (docs/guide.md) is one row of facts and the run it leaves. supervisor-rules.test.ts drives the
 * same rules through a supervisor and a scripted trainer; training-reliability with real ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NOTHING_HEARD,
  decideExit,
  hear,
  heardWriteFailure,
  type ExitDecision,
  type ExitFacts,
  type Heard,
} from '../../main/core/train/exit-decision.js';
import type { TrainerMessage } from '../../main/core/train/protocol.js';

const NOW = 1_700_000_000_000;

/** A trainer that trained, then exited 0 having said nothing of how it ends, on restart 0 of 5. */
const base: ExitFacts = {
  request: null,
  heard: NOTHING_HEARD,
  previousCrash: null,
  code: 0,
  signal: null,
  restarts: 0,
  maxRestarts: 5,
  backoffMs: 1000,
  resumeKimg: 2.5,
  now: NOW,
};

/** What it heard, from its messages in order. */
const heardFrom = (...messages: TrainerMessage[]): Heard => messages.reduce(hear, NOTHING_HEARD);
const failed = (kind: Extract<TrainerMessage, { type: 'failed' }>['kind'], message: string): TrainerMessage => ({
  type: 'failed',
  kind,
  message,
  kimg: 0,
});
const error = (message: string, step: number, outOfMemory = false): TrainerMessage => ({
  type: 'error',
  message,
  step,
  outOfMemory,
});
const ckpt: TrainerMessage = { type: 'checkpoint', kimg: 3, step: 10, path: '/c', sha256: 'x', bytes: 1, ms: 5 };
const pause = { kind: 'pause', cause: null, unanswered: null } as const;
const stop = { kind: 'stop', cause: null, unanswered: null } as const;

interface Row {
  rule: string;
  facts: Partial<ExitFacts>;
  want: ExitDecision;
}

const rest = (update: ExitDecision['update']): ExitDecision => ({ update, restart: null });
const noCause = { paused_by: null, paused_at: null };

const ROWS: Row[] = [
  {
    rule: 'Pause finishes the step, writes a checkpoint and ends the trainer',
    facts: { request: pause, heard: heardFrom({ type: 'paused', kimg: 2.5, step: 9 }) },
    want: rest({ state: 'paused', error: null, restarts: 0, ...noCause }),
  },
  {
    rule: 'quitting the app pauses, and the run says what paused it and when',
    facts: { request: { ...pause, cause: 'app' }, heard: heardFrom({ type: 'paused', kimg: 2.5, step: 9 }) },
    want: rest({ state: 'paused', error: null, restarts: 0, paused_by: 'app', paused_at: NOW }),
  },
  {
    rule: 'Stop ends the run (a quit cause asked for before is not a stop’s)',
    facts: { request: { ...stop, cause: 'app' }, heard: heardFrom({ type: 'stopped', kimg: 2.5, step: 9 }) },
    want: rest({ state: 'stopped', error: null, restarts: 0, ...noCause }),
  },
  {
    rule: 'a run that reaches its length is done',
    facts: { heard: heardFrom({ type: 'done', kimg: 10, step: 99 }) },
    want: rest({ state: 'done', error: null, restarts: 0, ...noCause }),
  },
  {
    rule: 'the trainer dies: the cause is named and it restarts from the last checkpoint after the backoff',
    facts: { code: 1, heard: heardFrom(error('Error: flaky driver', 3)) },
    want: {
      update: {
        state: 'running',
        restarts: 1,
        error:
          'the trainer exited with code 1: Error: flaky driver; restarting from the last checkpoint in 1.0 s ' +
          '(restart 1 of at most 5)',
      },
      restart: { delayMs: 1000, crash: { message: 'Error: flaky driver', step: 3 } },
    },
  },
  {
    rule: 'killed (a power cut, kill -9): restart k waits backoff·2^(k−1)',
    facts: { code: null, signal: 'SIGKILL', restarts: 2 },
    want: {
      update: {
        state: 'running',
        restarts: 3,
        error:
          'the trainer was killed (SIGKILL); restarting from the last checkpoint in 4.0 s (restart 3 of at most 5)',
      },
      restart: { delayMs: 4000, crash: null },
    },
  },
  {
    rule: 'up to 5 restarts without progress, then the run is crashed',
    facts: { code: 1, restarts: 5 },
    want: rest({
      state: 'crashed',
      error: 'the trainer exited with code 1; gave up after 5 restarts without progress',
    }),
  },
  {
    rule: 'a checkpoint is progress: the count starts again at restart 1',
    facts: { code: 1, restarts: 5, heard: heardFrom(ckpt) },
    want: {
      update: {
        state: 'running',
        restarts: 1,
        error: 'the trainer exited with code 1; restarting from the last checkpoint in 1.0 s (restart 1 of at most 5)',
      },
      restart: { delayMs: 1000, crash: null },
    },
  },
  {
    rule: 'out of memory is not retried',
    facts: { code: 1, heard: heardFrom(error('RangeError: out of memory', 4, true)) },
    want: rest({
      state: 'crashed',
      error:
        'the trainer exited with code 1: RangeError: out of memory. Not retried: it would run out of memory again.',
    }),
  },
  {
    rule: 'the same error at the same step twice: crashed, Resume no longer offered',
    facts: {
      code: 1,
      heard: heardFrom(error('Error: NaN in G', 7)),
      previousCrash: { message: 'Error: NaN in G', step: 7 },
    },
    want: rest({
      state: 'crashed',
      error:
        'the trainer exited with code 1: Error: NaN in G. It failed the same way at step 7 twice, so it is not ' +
        'retried: fork the run from its last checkpoint with a changed config',
      cannot_resume:
        'the trainer exited with code 1: Error: NaN in G. It failed the same way at step 7 twice, so it is not ' +
        'retried: fork the run from its last checkpoint with a changed config',
    }),
  },
  {
    rule: 'the same error while starting twice',
    facts: {
      code: 1,
      heard: heardFrom(error('Error: no backend', -1)),
      previousCrash: { message: 'Error: no backend', step: -1 },
    },
    want: rest({
      state: 'crashed',
      error:
        'the trainer exited with code 1: Error: no backend. It failed the same way while starting twice, so it is ' +
        'not retried: fork the run from its last checkpoint with a changed config',
      cannot_resume:
        'the trainer exited with code 1: Error: no backend. It failed the same way while starting twice, so it is ' +
        'not retried: fork the run from its last checkpoint with a changed config',
    }),
  },
  {
    rule: 'the same error after a checkpoint in between is retried (it made progress)',
    facts: {
      code: 1,
      heard: heardFrom(ckpt, error('Error: NaN in G', 7)),
      previousCrash: { message: 'Error: NaN in G', step: 7 },
    },
    want: {
      update: {
        state: 'running',
        restarts: 1,
        error:
          'the trainer exited with code 1: Error: NaN in G; restarting from the last checkpoint in 1.0 s ' +
          '(restart 1 of at most 5)',
      },
      restart: { delayMs: 1000, crash: { message: 'Error: NaN in G', step: 7 } },
    },
  },
  {
    rule: 'another error, or the same at another step, is retried like any crash',
    facts: { code: 1, heard: heardFrom(error('Error: a', 8)), previousCrash: { message: 'Error: a', step: 7 } },
    want: {
      update: {
        state: 'running',
        restarts: 1,
        error:
          'the trainer exited with code 1: Error: a; restarting from the last checkpoint in 1.0 s (restart 1 of at most 5)',
      },
      restart: { delayMs: 1000, crash: { message: 'Error: a', step: 8 } },
    },
  },
  {
    rule: 'a preset that cannot fit the backend: crashed, startable again where it fits',
    facts: { heard: heardFrom(failed('unsupported', 'needs 9 GB')) },
    want: rest({ state: 'crashed', error: 'needs 9 GB' }),
  },
  {
    rule: 'no checkpoint is intact: crashed, and Resume is not offered',
    facts: { heard: heardFrom(failed('fatal', 'all damaged')) },
    want: rest({ state: 'crashed', error: 'all damaged', cannot_resume: 'all damaged' }),
  },
  {
    rule: 'no checkpoint to resume from is there: crashed, resumable once the files are back',
    facts: { heard: heardFrom(failed('missing', 'put them back')) },
    want: rest({ state: 'crashed', error: 'put them back' }),
  },
  {
    rule: 'a checkpoint or grid that cannot be written pauses the run with the cause',
    facts: { heard: heardFrom(failed('write', 'the disk is full (ENOSPC)')) },
    want: rest({ state: 'paused', error: 'the disk is full (ENOSPC)' }),
  },
  {
    rule: 'the generator file to fine-tune from is gone: paused until it is back',
    facts: { heard: heardFrom(failed('input', 'put the file back')) },
    want: rest({ state: 'paused', error: 'put the file back' }),
  },
  {
    rule: 'the first failure’s words stand; a crashing kind after it decides the state',
    facts: { heard: heardFrom(failed('write', 'first'), failed('fatal', 'second')) },
    want: rest({ state: 'crashed', error: 'first', cannot_resume: 'first' }),
  },
  {
    rule: 'the database refusing a write pauses the run with the reason, whatever the trainer said after',
    facts: {
      request: pause,
      heard: hear(heardWriteFailure(NOTHING_HEARD, 'could not record: SQLITE_FULL'), {
        type: 'paused',
        kimg: 1,
        step: 1,
      }),
    },
    want: rest({ state: 'paused', error: 'could not record: SQLITE_FULL' }),
  },
  {
    rule: 'a pause the trainer does not answer in time: killed, paused, resumes from the last checkpoint',
    facts: {
      request: { ...pause, cause: 'cli', unanswered: 'the trainer did not answer the pause request within 3.0 s' },
      signal: 'SIGKILL',
      code: null,
      heard: heardWriteFailure(NOTHING_HEARD, 'not this'),
    },
    want: rest({
      state: 'paused',
      error:
        'the trainer did not answer the pause request within 3.0 s: it was ended, and the run resumes from its ' +
        'last checkpoint (2.500 kimg)',
      paused_by: 'cli',
      paused_at: NOW,
    }),
  },
  {
    rule: 'a stop not answered, with no checkpoint yet: stopped, and it would start again from the beginning',
    facts: { request: { ...stop, unanswered: 'no answer' }, signal: 'SIGKILL', code: null, resumeKimg: null },
    want: rest({
      state: 'stopped',
      error: 'no answer: it was ended, and the run starts again from the beginning',
      ...noCause,
    }),
  },
  {
    rule: 'a trainer that dies while pausing: the pause stands, with the cause',
    facts: { request: pause, code: 134 },
    want: rest({ state: 'paused', error: 'the trainer exited with code 134 while pausing', ...noCause }),
  },
  {
    rule: 'a trainer killed while stopping: stopped, with the signal',
    facts: { request: stop, code: null, signal: 'SIGSEGV', heard: heardFrom(error('Error: x', 2)) },
    want: rest({ state: 'stopped', error: 'the trainer was killed (SIGSEGV): Error: x while stopping', ...noCause }),
  },
];

for (const row of ROWS)
  test(`exit: ${row.rule}`, () => {
    assert.deepEqual(decideExit({ ...base, ...row.facts }), row.want);
  });

test('hearing: the last word on the ending counts, the first failure’s message, the last crash cause', () => {
  const h = heardFrom(
    error('Error: one', 1),
    failed('input', 'gone'),
    failed('write', 'full'),
    error('Error: two', 2),
    { type: 'tick', tick: {} as never },
  );
  assert.deepEqual(h, {
    ending: 'failed',
    failure: { message: 'gone', kind: 'input' },
    crash: { message: 'Error: two', step: 2, outOfMemory: false },
    writeFailure: null,
    progressed: false,
  });
  assert.equal(heardWriteFailure(heardWriteFailure(h, 'a'), 'b').writeFailure, 'a', 'the first write failure');
  assert.equal(NOTHING_HEARD.progressed, false, 'folding never changes what it starts from');
});
