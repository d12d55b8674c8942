import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tempDir } from './paths.js';

/**
 * A real full disk for the tests that fill one: a small tmpfs. Mounting needs root, and some
 * machines (containers) refuse it even then.
 */

/** Why no tmpfs can be mounted here (a test's `skip`), or false when one can. */
export function cannotMount(): string | false {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  const probe = tempDir('mount-probe');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe.dir], { stdio: 'ignore' });
    execFileSync('umount', [probe.dir], { stdio: 'ignore' });
    return false;
  } catch {
    return 'this machine does not allow mounting a tmpfs';
  } finally {
    probe.cleanup();
  }
}

export interface SmallDisk {
  /** Gives it another size (`64m`: room again), keeping what it holds. */
  resize(size: string): void;
  unmount(): void;
}

/** Mounts a tmpfs of `size` (`64k`, `8m`) on `dir`, made first if missing. */
export function mountSmallDisk(dir: string, size: string): SmallDisk {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return {
    resize: (to) => execFileSync('mount', ['-o', `remount,size=${to}`, dir]),
    unmount: () => execFileSync('umount', [dir]),
  };
}
