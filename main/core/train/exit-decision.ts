/**
 * What a trainer's exit means for its run, decided without a process, a clock or a database:
 * the rules of "Runs survive anything" (docs/guide.md) as two pure functions. `hear` folds each
 * message the trainer sends into what the supervisor knows of it; `decideExit` turns that, what
 * was asked of the trainer and how it ended into the run's new row and whether to restart.
 */
import type { PauseCause } from '../../common/vocabulary.js';
import type { RunUpdate } from '../store/runs.js';
import type { TrainerMessage } from './protocol.js';

/** A crash the trainer explained just before it died (step -1: before training began). */
export interface CrashCause {
  message: string;
  step: number;
  outOfMemory: boolean;
}

/** The crash an automatic restart follows: the same one again is not retried. */
export type PreviousCrash = Pick<CrashCause, 'message' | 'step'>;

/** Why training cannot go on, as the trainer said it ('failed'). */
export type FailureKind = Extract<TrainerMessage, { type: 'failed' }>['kind'];

/** What one trainer process has told the supervisor, or the supervisor found, since it started. */
export interface Heard {
  /** How it said it ends (its last word of the kind), null until it says. */
  readonly ending: 'paused' | 'stopped' | 'done' | 'failed' | null;
  /** The first failure it reported, with the first kind retrying cannot help ('write' and 'input' can be). */
  readonly failure: { message: string; kind: FailureKind } | null;
  /** The last crash cause it sent. */
  readonly crash: CrashCause | null;
  /** A write the supervisor itself could not make (the database): the run pauses with it. */
  readonly writeFailure: string | null;
  /** It wrote a checkpoint: the restart count and the repeated-crash rule start over. */
  readonly progressed: boolean;
}

export const NOTHING_HEARD: Heard = {
  ending: null,
  failure: null,
  crash: null,
  writeFailure: null,
  progressed: false,
};

/** Failures that mark the run crashed rather than paused. */
const CRASHING: ReadonlySet<FailureKind> = new Set(['fatal', 'unsupported', 'missing']);

/** What a message adds to what has been heard (messages that say nothing of the ending leave it). */
export function hear(heard: Heard, m: TrainerMessage): Heard {
  switch (m.type) {
    case 'checkpoint':
      return { ...heard, progressed: true };
    case 'paused':
    case 'stopped':
    case 'done':
      return { ...heard, ending: m.type };
    case 'failed': {
      // The first message stands; a crashing kind, if one comes, decides the state.
      const failure =
        heard.failure === null
          ? { message: m.message, kind: m.kind }
          : !CRASHING.has(heard.failure.kind) && CRASHING.has(m.kind)
            ? { message: heard.failure.message, kind: m.kind }
            : heard.failure;
      return { ...heard, ending: 'failed', failure };
    }
    case 'error':
      return { ...heard, crash: { message: m.message, step: m.step, outOfMemory: m.outOfMemory } };
    default:
      return heard;
  }
}

/** The supervisor could not write to the database: the first such failure is kept. */
export const heardWriteFailure = (heard: Heard, message: string): Heard =>
  heard.writeFailure === null ? { ...heard, writeFailure: message } : heard;

/** A pause or stop the supervisor asked for. */
export interface EndRequest {
  kind: 'pause' | 'stop';
  /** What asked for a pause when it was not the Pause button (a quit), recorded with it. */
  cause: PauseCause | null;
  /** Set when the trainer did not answer in time and was killed: why. */
  unanswered: string | null;
}

export interface ExitFacts {
  /** What was asked of the trainer when it exited (null: it was training). */
  request: EndRequest | null;
  heard: Heard;
  /** The crash this trainer's start followed (an automatic restart), null otherwise. */
  previousCrash: PreviousCrash | null;
  /** Its exit code, or the signal that killed it. */
  code: number | null;
  signal: string | null;
  /** The run's restarts without progress so far. */
  restarts: number;
  maxRestarts: number;
  /** Restart k waits backoffMs · 2^(k−1). */
  backoffMs: number;
  /** The kimg of the checkpoint the run resumes from, null when it has none. */
  resumeKimg: number | null;
  /** Now, in ms (when a pause a quit asked for happened). */
  now: number;
}

export interface ExitDecision {
  /** The run's row from now on. */
  update: RunUpdate;
  /** Start a trainer again after `delayMs`, remembering `crash`; null: the run rests. */
  restart: { delayMs: number; crash: PreviousCrash | null } | null;
}

/** The fields a run ending in `state` records of what paused it: only a pause a quit asked for keeps them. */
export function pausedBy(
  state: 'paused' | 'stopped' | 'done',
  cause: PauseCause | null,
  now: number,
): Pick<RunUpdate, 'paused_by' | 'paused_at'> {
  const by = state === 'paused' ? cause : null;
  return { paused_by: by, paused_at: by ? now : null };
}

const rest = (update: RunUpdate): ExitDecision => ({ update, restart: null });

/** What the exit of a trainer means, by precedence: a kill we made, our own write, its word, then a crash. */
export function decideExit(f: ExitFacts): ExitDecision {
  const { request, heard } = f;
  if (request?.unanswered) {
    const state = request.kind === 'stop' ? 'stopped' : 'paused';
    const resumes =
      f.resumeKimg === null
        ? 'starts again from the beginning'
        : `resumes from its last checkpoint (${f.resumeKimg.toFixed(3)} kimg)`;
    return rest({
      state,
      error: `${request.unanswered}: it was ended, and the run ${resumes}`,
      ...pausedBy(state, request.cause, f.now),
    });
  }
  if (heard.writeFailure) return rest({ state: 'paused', error: heard.writeFailure });
  if (heard.ending === 'paused' || heard.ending === 'stopped' || heard.ending === 'done')
    return rest({
      state: heard.ending,
      error: null,
      restarts: 0,
      ...pausedBy(heard.ending, request?.cause ?? null, f.now),
    });
  if (heard.ending === 'failed') {
    const failure = heard.failure!;
    if (failure.kind === 'fatal')
      return rest({ state: 'crashed', error: failure.message, cannot_resume: failure.message });
    if (failure.kind === 'unsupported' || failure.kind === 'missing')
      return rest({ state: 'crashed', error: failure.message });
    return rest({ state: 'paused', error: failure.message }); // 'write', 'input': fixed, then resumed
  }

  // It died without a word on how it ends: a crash.
  const cause = heard.crash;
  const why =
    (f.signal ? `the trainer was killed (${f.signal})` : `the trainer exited with code ${f.code}`) +
    (cause ? `: ${cause.message}` : '');
  if (request) {
    // It died while pausing or stopping: what was asked for still stands, from the last checkpoint.
    const state = request.kind === 'pause' ? 'paused' : 'stopped';
    return rest({
      state,
      error: `${why} while ${request.kind === 'pause' ? 'pausing' : 'stopping'}`,
      ...pausedBy(state, request.cause, f.now),
    });
  }
  // A deterministic failure is not retried: out of memory, or the same error at the same step again.
  if (cause?.outOfMemory)
    return rest({ state: 'crashed', error: `${why}. Not retried: it would run out of memory again.` });
  const previous = heard.progressed ? null : f.previousCrash;
  if (cause && previous && previous.message === cause.message && previous.step === cause.step) {
    const reason =
      `${why}. It failed the same way ${cause.step >= 0 ? `at step ${cause.step} ` : 'while starting '}` +
      'twice, so it is not retried: fork the run from its last checkpoint with a changed config';
    return rest({ state: 'crashed', error: reason, cannot_resume: reason });
  }
  const restarts = heard.progressed ? 1 : f.restarts + 1;
  if (restarts > f.maxRestarts)
    return rest({
      state: 'crashed',
      error: `${why}; gave up after ${f.maxRestarts} restarts without progress`,
    });
  const delayMs = f.backoffMs * 2 ** (restarts - 1);
  return {
    update: {
      state: 'running',
      restarts,
      error:
        `${why}; restarting from the last checkpoint in ${(delayMs / 1000).toFixed(1)} s ` +
        `(restart ${restarts} of at most ${f.maxRestarts})`,
    },
    restart: { delayMs, crash: cause ? { message: cause.message, step: cause.step } : null },
  };
}
