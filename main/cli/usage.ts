/**
 * The CLI's command machinery: each command is a CommandDef (its own usage, flags and run), and
 * `runCommand` gives every one the same behaviour — `--help` prints that command's usage, a
 * mistake prints one line ending in a pointer to `--help` (exit 2). Flag values are checked with
 * the same zod fields as the IPC/WebSocket requests (main/core/api/validate.ts), so a value the
 * app refuses is refused here too, with the same words.
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { say } from './terminal.js';

/** A mistake in how the command was called: one line on stderr, exit code 2. */
export class UsageError extends Error {}

type OptionSpec = { type: 'string' | 'boolean'; short?: string; default?: string | boolean };
export type Options = Record<string, OptionSpec>;
export type FlagValues = Record<string, string | boolean | undefined>;

export interface CommandDef {
  name: string;
  /**
   * The command reads its own arguments (sub-commands such as `favourite add|list`, whose flags
   * differ per sub-command): `run` gets the raw argv, and node:util parse errors it throws still
   * become one-line usage errors. `options` is then left empty.
   */
  ownsArgv?: boolean;
  /** The line after `plumage `, e.g. `ingest <folder> --resolution N [--json]`. */
  synopsis: string;
  /** One line for the command list. */
  summary: string;
  /** Further lines for `plumage NAME --help`: what each flag means, exit codes. */
  details?: string;
  options: Options;
  /** How many positional arguments it takes (default none). */
  positionals?: { min: number; max: number; name: string };
  run(values: FlagValues, positionals: string[], argv: string[]): Promise<number>;
}

export function helpText(cmd: CommandDef): string {
  return [`Usage: plumage ${cmd.synopsis}`, '', cmd.summary, ...(cmd.details ? ['', cmd.details] : [])].join('\n');
}

/** The one line a usage mistake prints. */
export function usageLine(command: string | undefined, message: string): string {
  const where = command ? `plumage ${command}` : 'plumage';
  return `${where}: ${message} (see ${where} --help)`;
}

/** A number-looking value after a string flag (`--kimg -3`) belongs to it, not an unknown option `-3`. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** node:util's parse errors are long and mention internals; say the same in a few words. */
function parseErrorMessage(err: NodeJS.ErrnoException): string {
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag ?? err.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message) ? `${flag} needs a value` : `${flag} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim();
    default:
      return err.message;
  }
}

export function parseCommand(cmd: CommandDef, argv: string[]): { values: FlagValues; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, cmd.options),
      options: cmd.options,
      allowPositionals: cmd.positionals !== undefined,
      strict: true,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(parseErrorMessage(err as NodeJS.ErrnoException));
    throw err;
  }
  const pos = cmd.positionals;
  if (pos && (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max)) {
    throw new UsageError(
      parsed.positionals.length < pos.min
        ? `${pos.name} is required`
        : `takes ${pos.max === 1 ? 'one' : `at most ${pos.max}`} ${pos.name}, got ${parsed.positionals.length}`,
    );
  }
  return { values: parsed.values as FlagValues, positionals: parsed.positionals };
}

/** Runs one command: `--help` anywhere prints its usage; a usage mistake becomes a UsageError. */
export async function runCommand(cmd: CommandDef, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    say(helpText(cmd));
    return 0;
  }
  if (cmd.ownsArgv) {
    try {
      return await cmd.run({}, [], argv);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))
        throw new UsageError(parseErrorMessage(err as NodeJS.ErrnoException));
      throw err;
    }
  }
  const { values, positionals } = parseCommand(cmd, argv);
  return cmd.run(values, positionals, argv);
}

/**
 * `value` (made from the flag's text `raw`) checked by a request field: the first issue zod
 * finds, as a sentence about the flag.
 */
export function checkFlag<T>(flag: string, raw: string, value: unknown, schema: z.ZodType<T, unknown>): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new UsageError(`--${flag} ${result.error.issues[0]?.message ?? 'is not valid'} (got ${raw})`);
}

/** A numeric flag, checked by the request field it stands for; undefined when not given. */
export function numberFlag<T extends number | undefined>(
  values: FlagValues,
  flag: string,
  schema: z.ZodType<T, unknown>,
): T | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new UsageError(`--${flag} needs a value`);
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number (got ${JSON.stringify(raw)})`);
  return checkFlag(flag, raw, n, schema);
}

/** A string flag (an enum such as --crop), checked by its request field; undefined when not given. */
export function choiceFlag<T>(values: FlagValues, flag: string, schema: z.ZodType<T, unknown>): T | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new UsageError(`--${flag} needs a value`);
  return checkFlag(flag, raw, raw, schema);
}

/** A flag the command cannot do without. */
export function required<T>(value: T | undefined, flag: string, what: string): T {
  if (value === undefined) throw new UsageError(`--${flag} ${what} is required`);
  return value;
}
