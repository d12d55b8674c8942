import { existsSync, readFileSync } from 'node:fs';

/** A process's Linux autogroup ("/autogroup-12") and its niceness, or null where there are none. */
export function autogroupOf(pid: number | 'self'): { group: string; nice: number } | null {
  const file = `/proc/${pid}/autogroup`;
  if (!existsSync(file)) return null;
  const m = /^(\S+) nice (-?\d+)/.exec(readFileSync(file, 'utf8'));
  return m ? { group: m[1]!, nice: Number(m[2]) } : null;
}

/** Whether this kernel shares the CPU between sessions first (autogroups on). */
export const AUTOGROUPS =
  existsSync('/proc/sys/kernel/sched_autogroup_enabled') &&
  readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
