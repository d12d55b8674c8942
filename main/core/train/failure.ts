/**
 * Why a write failed, and what the user can do about it, by cause. Used for every write a run
 * makes (checkpoints, grids, the database): each pauses the run with one of these.
 */

/** The error's code: a Node errno code (ENOSPC…) or an SQLite one (SQLITE_FULL…). */
const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** One sentence: the cause, then the remedy. Nothing is lost in any case: the last checkpoint stands. */
export function writeAdvice(err: unknown): string {
  const code = codeOf(err) ?? 'error';
  switch (true) {
    case code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL':
      return `the disk is full (${code}). Nothing was lost: free some space, then Resume.`;
    case code === 'EROFS' || code.startsWith('SQLITE_READONLY'):
      return (
        `the folder is on a read-only filesystem (${code}). Nothing was lost: choose another home on a ` +
        'writable disk (--home or PLUMAGE_HOME), or remount this one writable, then Resume.'
      );
    case code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_PERM' || code === 'SQLITE_CANTOPEN':
      return `permission denied (${code}). Nothing was lost: make the folder writable for this user, ` + 'then Resume.';
    case code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR':
      return `a file stands where a folder should be (${code}). Nothing was lost: move it away, then Resume.`;
    case code === 'EIO' || code.startsWith('SQLITE_IOERR'):
      return `the disk reported an I/O error (${code}). Nothing was lost: check the disk, then Resume.`;
    default:
      return `${firstLine(err)} (${code}). Nothing was lost: the run resumes from its last checkpoint.`;
  }
}

export const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);

/** A failure retrying cannot fix, in the trainer: its run is marked crashed (or paused: 'input') with this message. */
export class TrainerFatalError extends Error {
  constructor(
    message: string,
    readonly kind: 'fatal' | 'unsupported' | 'missing' | 'input' = 'fatal',
  ) {
    super(message);
  }
}
