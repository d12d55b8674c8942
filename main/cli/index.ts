/**
 * `plumage` — the command-line shell over the same Studio facade as the app. This file is only
 * the dispatch table: each command (its usage, flags and run) lives in its own file as a
 * CommandDef (see usage.ts); add one by appending it to `commands`. The `plumage` executable is
 * main/plumage.ts, which runs `runCli` with the launchers of the other shells it may start.
 */
import { PACKAGE_VERSION } from '../core/version.js';
import { backendCommand } from './backend-command.js';
import { exportReferenceCommand, initCommand } from './gan-commands.js';
import {
  exportCommand,
  exportDatasetCommand,
  exportTimelapseCommand,
  favouriteCommand,
  generateCommand,
  interpolateCommand,
} from './gallery-defs.js';
import { ingestCommand } from './ingest-command.js';
import { directionsCommand, metricsCommand, nearestCommand } from './insight-commands.js';
import { projectCommand } from './project-command.js';
import { serveCommand, type ServeLauncher } from './serve-command.js';
import { runsCommand, trainCommand } from './train-commands.js';
import { runCommand, UsageError, usageLine, type CommandDef } from './usage.js';
import { say, warn } from './terminal.js';

/** What the CLI can start but must not import: the other shells. */
export interface Launchers {
  serve: ServeLauncher;
}

const commands = (launch: Launchers): CommandDef[] => [
  ingestCommand,
  serveCommand(launch.serve),
  trainCommand,
  runsCommand,
  initCommand,
  exportReferenceCommand,
  generateCommand,
  favouriteCommand,
  interpolateCommand,
  exportCommand,
  exportDatasetCommand,
  exportTimelapseCommand,
  metricsCommand,
  nearestCommand,
  directionsCommand,
  projectCommand,
  backendCommand,
];

function usage(list: CommandDef[]): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    `plumage ${PACKAGE_VERSION} — train StyleGAN2 on your own folder of images`,
    '',
    'Usage: plumage <command> [options]      plumage <command> --help for its own usage',
    '',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Data lives in --home DIR, else $PLUMAGE_HOME, else your per-user app-data folder.',
  ].join('\n');
}

async function main(argv: string[], list: CommandDef[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = list.find((c) => c.name === name);
  if (command) return runCommand(command, rest);
  switch (name) {
    case '--version':
    case '-v':
      say(PACKAGE_VERSION);
      return 0;
    case undefined:
      warn(usage(list));
      return 2;
    case '--help':
    case '-h':
    case 'help': {
      const about = list.find((c) => c.name === rest[0]);
      if (about) return runCommand(about, ['--help']);
      say(usage(list));
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
}

/** Runs one `plumage` command line and sets the process's exit code (errors become one line on stderr). */
export async function runCli(argv: string[], launch: Launchers): Promise<void> {
  // A reader that goes away (`plumage train … 2>&1 | head`) closes stderr too. A write there then
  // fails with EPIPE, which unhandled ended the process mid-step: a train left `interrupted` with
  // no checkpoint instead of paused. No one is left to read it, so that error alone is dropped; a
  // closed stdout is each command's to handle (train pauses its run).
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const list = commands(launch);
  try {
    const code = await main(argv, list);
    if (code !== 0) process.exitCode = code;
  } catch (e) {
    const err = e as Error;
    const name = argv[0];
    const known = list.some((c) => c.name === name) ? name : undefined;
    if (err instanceof UsageError) {
      warn(usageLine(known, err.message));
      process.exitCode = 2;
    } else {
      warn(`plumage${known ? ` ${known}` : ''}: ${err.message}`);
      process.exitCode = 1;
    }
  }
}
