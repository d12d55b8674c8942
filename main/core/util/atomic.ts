import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/**
 * Writes a file so that readers see the old content or the new, never a torn mix:
 * write a temp file beside it, (optionally) fsync it, rename over the target.
 * `durable` adds the fsync: use it for things that cannot be regenerated.
 */
export async function writeFileAtomic(path: string, data: Uint8Array, durable = true): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes all of `data` (at `position`, or at the file's current offset). A short write is
 * retried for the rest, so a full disk surfaces as the ENOSPC the retry gets, not as a
 * silently truncated file.
 */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number | null = null): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(
      data,
      done,
      data.length - done,
      position === null ? null : position + done,
    );
    if (bytesWritten === 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}
