/**
 * A failed write, said as a person needs it: which file or folder, what went wrong in words, and
 * what to do. Node's own messages ("ENOSPC: no space left on device, write") name neither the
 * export nor the way out.
 */

/** What an errno means, in words, with the code for whoever searches for it. */
export function reasonFor(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full (${code})`;
    case 'EROFS':
      return `the disk is read-only (${code})`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENAMETOOLONG':
      return `the name is too long for the filesystem (${code})`;
    case 'ENOTDIR':
    case 'EISDIR':
      return `a file stands where a folder should be, or a folder where a file should be (${code})`;
    case 'EIO':
      return `the disk reported an I/O error (${code})`;
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

const ADVICE: Record<string, string> = {
  ENOSPC: 'Free some space, or choose a folder on another disk, then export again',
  EDQUOT: 'Free some space, or choose a folder on another disk, then export again',
  EROFS: 'Choose a folder on a writable disk',
  EACCES: 'Choose a folder you can write to',
  EPERM: 'Choose a folder you can write to',
  ENAMETOOLONG: 'Choose a shorter name or folder',
};

export class ExportWriteError extends Error {
  readonly code = 'failed';
}

/**
 * The error for a write of `what` (a file, "12 frames into /x") that failed with `err`; `left`
 * says what stays behind ("nothing was written"). Errors that are already sentences pass.
 */
export function writeFailed(err: unknown, what: string, left = 'nothing was written'): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === undefined || !/^E[A-Z]+$/.test(code)) return err instanceof Error ? err : new Error(String(err));
  const advice = ADVICE[code];
  return new ExportWriteError(`could not write ${what}: ${reasonFor(err)}; ${left}${advice ? `. ${advice}` : ''}`);
}
