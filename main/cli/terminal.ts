/**
 * Everything the CLI prints goes through here, so nothing a user's data holds (a note with an
 * escape sequence, a file named with U+202E, a C1 control) reaches the terminal as itself: it is
 * shown as an escape instead (`\e]0;…\a` prints as text, it does not retitle the window). Lines
 * the CLI writes itself keep their line breaks; JSON keeps its strings exactly (see
 * jsonForTerminal).
 */
import { forTerminal, jsonForTerminal } from '../core/util/text.js';

/** A line (or lines) on stdout. */
export const say = (text: string): void => void process.stdout.write(`${forTerminal(text, true)}\n`);

/** A line (or lines) on stderr. */
export const warn = (text: string): void => void process.stderr.write(`${forTerminal(text, true)}\n`);

/** A value as one line of JSON on stdout. */
export const sayJson = (value: unknown): void => void process.stdout.write(`${jsonForTerminal(value)}\n`);

/** A progress line on stderr that the next one replaces (a terminal), or a line of its own (a log). */
export function progress(text: string): void {
  if (process.stderr.isTTY)
    process.stderr.write(`\r\x1b[K${forTerminal(text).slice(0, (process.stderr.columns ?? 100) - 1)}`);
  else process.stderr.write(`${forTerminal(text)}\n`);
}

/** Ends a run of progress lines on a terminal. */
export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}

/** A user's text inside a line (a name, a note): its line breaks shown as `\n` too. */
export const quoted = (text: string): string => forTerminal(text);
