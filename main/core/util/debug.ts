/**
 * The debug log: lines for whoever is chasing a problem (which GPU adapter a process drew on,
 * what Dawn said about it), written to stderr only with `PLUMAGE_DEBUG=1`. Child processes
 * inherit the variable, so one switch covers the CLI or server and every process they start.
 */
export const DEBUG_ENV = 'PLUMAGE_DEBUG';

export const debugEnabled = (): boolean => process.env[DEBUG_ENV] === '1';

export function debug(line: string): void {
  if (debugEnabled()) process.stderr.write(`plumage debug: ${line}\n`);
}
