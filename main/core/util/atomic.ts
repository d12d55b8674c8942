import { open, rename, rm } from 'node:fs/promises';
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
