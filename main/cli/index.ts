#!/usr/bin/env node
/**
 * `plumage` — the command-line shell over the same Studio facade as the app. This file is only
 * the dispatch table: each command (its usage, flags and run) lives in its own file as a
 * CommandDef (see usage.ts); add one by appending it to COMMANDS.
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
import { directionsCommand, metricsCommand, nearestCommand, projectCommand } from './insight-commands.js';
import { serveCommand } from './serve-command.js';
import { runsCommand, trainCommand } from './train-commands.js';
import { runCommand, UsageError, usageLine, type CommandDef } from './usage.js';
import { say, warn } from './terminal.js';

const COMMANDS: CommandDef[] = [
  ingestCommand,
  serveCommand,
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

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `plumage ${PACKAGE_VERSION} — train StyleGAN2 on your own folder of images`,
    '',
    'Usage: plumage <command> [options]      plumage <command> --help for its own usage',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Data lives in --home DIR, else $PLUMAGE_HOME, else your per-user app-data folder.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return runCommand(command, rest);
  switch (name) {
    case '--version':
    case '-v':
      say(PACKAGE_VERSION);
      return 0;
    case undefined:
      warn(usage());
      return 2;
    case '--help':
    case '-h':
    case 'help': {
      const about = COMMANDS.find((c) => c.name === rest[0]);
      if (about) return runCommand(about, ['--help']);
      say(usage());
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: Error) => {
    const name = process.argv[2];
    const known = COMMANDS.some((c) => c.name === name) ? name : undefined;
    if (err instanceof UsageError) {
      warn(usageLine(known, err.message));
      process.exitCode = 2;
    } else {
      warn(`plumage${known ? ` ${known}` : ''}: ${err.message}`);
      process.exitCode = 1;
    }
  },
);
