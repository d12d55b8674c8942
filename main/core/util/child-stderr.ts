/**
 * The stderr of a child process that may load Dawn (the generator, export and trainer
 * processes, `plumage backend`'s probe), passed on to ours without Dawn's own log lines.
 *
 * Dawn (WebGPU under tfjs-backend-webgpu, through the `webgpu` package) logs from native code
 * with `fprintf(stderr, "Warning: …")`. Where a Vulkan driver reports more dynamic buffers than
 * Dawn's fixed internal arrays hold (Mesa's lavapipe reports 1,000,000, RADV 500,000), Dawn clamps
 * the adapter's limits while it builds its adapter list (`NormalizeLimits` in Limits.cpp) and
 * prints "Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000
 * to 16 to fit dynamic offset allocation limit." (and the same for storage buffers). That happens
 * inside `requestAdapter`, before any device or limit is asked for, so no request of ours avoids
 * it, and Node cannot redirect a native write to fd 2 inside its own process. So Dawn loads only
 * in child processes, and their parents read the child's stderr through here: Dawn's lines are
 * kept (once each, at debug level), everything else is passed on as it comes.
 */
import { debug, debugEnabled } from './debug.js';

/** Dawn's log line format (`dawn::WarningLog`): severity, colon, message. Only warnings go to stderr. */
const DAWN_PREFIX = 'Warning: ';
/** Dawn's lines already logged by this process: the same warning from each new child is said once. */
const logged = new Set<string>();

/**
 * Dawn's own place in its source that a warning or error names on a line of its own after it
 * (`    at CheckVkSuccessImpl (…/third_party/dawn/src/dawn/native/vulkan/VulkanError.cpp:106)`,
 * seen when a machine has no Vulkan driver): a path inside Dawn's tree, never a JavaScript stack.
 */
const DAWN_SOURCE_LINE = /^\s+at \S+ \([^()]*[\\/]dawn[\\/]src[\\/][^()]*\)\s*$/;

export const isDawnLine = (line: string): boolean => line.startsWith(DAWN_PREFIX) || DAWN_SOURCE_LINE.test(line);

/**
 * Whether the start of a line may still turn out Dawn's: held until its end says. Dawn's source
 * line is indented and starts "at "; any other indented line (a projection's "    step 10/500 …"
 * progress, rewritten with \r and never ended) goes on at once.
 */
const mayBeDawn = (start: string): boolean => {
  if (DAWN_PREFIX.startsWith(start) || start.startsWith(DAWN_PREFIX)) return true;
  const rest = /^[ \t]+([^]*)$/.exec(start)?.[1];
  return rest !== undefined && !rest.includes('\r') && ('at '.startsWith(rest) || rest.startsWith('at '));
};

/**
 * Reads `stream` (a child's stderr, spawned with stdio 'pipe' for it) and writes what it says to
 * `write`, minus Dawn's lines, which go to the debug log once each, naming the child. Text that
 * cannot begin a Dawn line is passed on at once, even before its line ends (a progress line).
 */
export function forwardStderr(
  stream: NodeJS.ReadableStream | null | undefined,
  child: string,
  write: (text: string) => void = (t) => void process.stderr.write(t),
): void {
  if (!stream) return;
  stream.setEncoding('utf8');
  let held = ''; // the start of a line that may be Dawn's, until its end shows whether it is
  let midLine = false; // the text so far on this line was passed on already
  let afterDawn = false; // the last whole line was Dawn's
  const route = (text: string): void => {
    let at = 0;
    while (at < text.length) {
      const end = text.indexOf('\n', at);
      const piece = end < 0 ? text.slice(at) : text.slice(at, end + 1);
      at += piece.length;
      if (midLine) {
        write(piece);
      } else {
        held += piece;
        if (end >= 0) {
          const dawns = isDawnLine(held);
          if (dawns) logDawn(held.trimEnd(), child);
          // Dawn ends its source line with an empty one: that goes with it.
          else if (!(afterDawn && held.trim() === '')) write(held);
          afterDawn = dawns;
          held = '';
        } else if (!mayBeDawn(held)) {
          write(held); // not Dawn's: pass on now, and the rest of the line as it comes
          held = '';
          midLine = true;
          afterDawn = false;
          continue;
        }
      }
      if (end >= 0) midLine = false;
    }
  };
  stream.on('data', (chunk: string | Buffer) => route(String(chunk)));
  stream.on('end', () => {
    if (held && !isDawnLine(held)) write(held);
    else if (held) logDawn(held.trimEnd(), child);
    held = '';
  });
}

function logDawn(line: string, child: string): void {
  if (!debugEnabled() || logged.has(line)) return;
  logged.add(line);
  debug(`Dawn (in the ${child} process): ${line}`);
}

/**
 * For a child whose stderr is a pipe: a write after its parent has gone fails with EPIPE, and an
 * unhandled stream error would end the child with a stack trace instead of the exit it was making.
 */
export function tolerateClosedStderr(): void {
  process.stderr.on('error', () => {});
}
