/**
 * The trainer child process (forked headless, a utility process under Electron): it owns the tfjs
 * backend and the GPU; the supervisor owns the database. The process glue only: it answers the
 * trainer protocol (protocol.ts) over child-rpc, runs one `train` request (trainer-run.ts), and
 * exits when that ends (0, or 1 after a crash), freeing the GPU.
 */
import { serve } from '../util/child-rpc.js';
import { tolerateClosedStderr } from '../util/child-stderr.js';
import { parentTransport } from '../util/transport.js';
import type { TrainerProtocol } from './protocol.js';
import { TrainerControl, trainRun } from './trainer-run.js';

// A terminal's Ctrl-C goes to its whole foreground process group. Only the supervisor decides
// when this process stops (it asks for a pause, which writes a checkpoint first); where it
// could not be given a process group of its own (Electron's utilityProcess), ignore the signal.
process.on('SIGINT', () => {});
tolerateClosedStderr(); // a pipe read by the supervisor (child-stderr.ts), gone if it died

const control = new TrainerControl();
// In a process group of its own (or under Electron, with no disconnect event) no signal follows
// the parent's death: a changed parent pid says it, too.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && control.parentGone(), 2000).unref();

let training = false;
serve<TrainerProtocol>(parentTransport(), {
  train: async (start, ctx) => {
    if (training) throw new Error('this trainer is training a run already');
    training = true;
    ctx.signal.addEventListener('abort', () => control.parentGone()); // the app died: stop at once
    const end = await trainRun(start, control, (name, payload) => ctx.emit(name, payload));
    // After the answer has left (it is sent when this returns); a crash exits non-zero.
    setTimeout(
      () => process.exit(end?.type === 'error' ? 1 : 0),
      end?.type === 'error' || end?.type === 'failed' ? 100 : 0,
    );
    return end;
  },
  pause: () => (control.pause(), null),
  stop: () => (control.stop(), null),
  snapshot: () => (control.askSnapshot(), null),
  slots: ({ slots }) => (control.setSlots(slots), null),
});
