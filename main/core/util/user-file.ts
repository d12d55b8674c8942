/**
 * The one way Plumage opens a file a user named or put in a folder (a generator, a favourite's
 * generator, a file to fine-tune from, a dataset image): it is checked for what it is before a
 * byte is read. Named pipes, devices and sockets are refused by what they are, since each defeats
 * a size check (a pipe blocks the open forever, /dev/zero never ends, a socket cannot be read);
 * reads never go past the size the file had when it was opened.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';

/** `cause`: the system's error (ENOENT, EACCES…) when there was one, for callers that decide by it. */
export class UserFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly code: 'not-found' | 'invalid-input' = 'invalid-input',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UserFileError';
  }
}

/** What a path that is not a regular file is, in the user's words ("a named pipe"). */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** "a" or "an", for the noun a caller named the file with. */
const article = (noun: string): string => (/^[aeiou]/i.test(noun) ? 'an' : 'a');

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** The error opening or stat-ing `abs` gave, as one sentence. */
function describeErrno(abs: string, what: string, err: unknown): UserFileError {
  const code = errno(err);
  const says = (message: string, kind: 'not-found' | 'invalid-input' = 'invalid-input'): UserFileError =>
    new UserFileError(message, abs, kind, err);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return says(`no such file: ${abs} (the ${what})`, 'not-found');
    case 'EACCES':
    case 'EPERM':
      return says(`cannot read the ${what} ${abs}: permission denied (make it readable for this user)`);
    case 'ELOOP':
      return says(`${abs} is a symlink loop (the link points back at itself), not ${article(what)} ${what}`);
    case 'ENAMETOOLONG':
      return says(`the path of the ${what} is too long for this system: ${abs.slice(0, 200)}…`);
    default:
      return says(`cannot open the ${what} ${abs}: ${code ?? (err as Error).message}`);
  }
}

/**
 * Why `path` cannot be opened as a `what` ("generator file", "image"), or null with its stat when
 * it is a regular file. Follows symlinks, and names the target of one that leads somewhere odd.
 */
export async function checkUserFile(
  path: string,
  what: string,
): Promise<{ ok: true; abs: string; stat: Stats } | { ok: false; error: UserFileError }> {
  const abs = resolve(path);
  let st: Stats;
  try {
    st = await stat(abs);
  } catch (err) {
    return { ok: false, error: describeErrno(abs, what, err) };
  }
  if (st.isFile()) return { ok: true, abs, stat: st };
  const link = await lstat(abs).catch(() => null);
  const target = link?.isSymbolicLink() ? await realpath(abs).catch(() => null) : null;
  const kind = kindOf(st);
  const named = target ? `${abs} links to ${target}, ${kind},` : `${abs} is ${kind},`;
  return { ok: false, error: new UserFileError(`${named} not ${article(what)} ${what}`, abs) };
}

/** A regular file, open for reading; reads stay within the size it had when opened. */
export interface UserFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Exactly `length` bytes at `position` (inside the file's size), or an error naming the file. */
  read(position: number, length: number): Promise<Buffer>;
  /**
   * The whole file, stopping once more than `maxBytes` came back (null then): the size stat
   * reports is not trusted here (procfs says 0, and a file may grow while it is read).
   */
  readWhole(maxBytes: number): Promise<Buffer | null>;
  close(): Promise<void>;
}

/**
 * Opens `path` as a `what` after checking what it is. The open itself does not block (a pipe
 * swapped in after the check would otherwise hang it), and the open handle is checked again, so
 * what is read is the regular file that was checked.
 */
export async function openUserFile(path: string, what: string): Promise<UserFile> {
  const checked = await checkUserFile(path, what);
  if (!checked.ok) throw checked.error;
  const { abs } = checked;
  const flags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
  const fh = await open(abs, flags).catch((err: unknown) => {
    throw describeErrno(abs, what, err);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UserFileError(`${abs} is ${kindOf(st)}, not ${article(what)} ${what}`, abs);
    return handleFile(fh, abs, st);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function handleFile(fh: FileHandle, abs: string, st: Stats): UserFile {
  const size = st.size;
  return {
    path: abs,
    size,
    mtimeMs: st.mtimeMs,
    async read(position, length) {
      if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0)
        throw new UserFileError(`${abs}: a read at ${position} of ${length} bytes makes no sense`, abs);
      if (position + length > size)
        throw new UserFileError(`${abs} is ${size} bytes; a read up to byte ${position + length} is past its end`, abs);
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, position + done);
        if (bytesRead === 0)
          throw new UserFileError(`${abs} became shorter while it was read (it changed): try again`, abs);
        done += bytesRead;
      }
      return buf;
    },
    async readWhole(maxBytes) {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(8 << 20, maxBytes + 1 - total));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > maxBytes) return null;
        chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      }
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
    },
    close: () => fh.close(),
  };
}

/** Runs `use` on the opened file and closes it whatever happens. */
export async function withUserFile<T>(path: string, what: string, use: (f: UserFile) => Promise<T>): Promise<T> {
  const f = await openUserFile(path, what);
  try {
    return await use(f);
  } finally {
    await f.close();
  }
}
