import { open, type FileHandle } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFully } from '../util/atomic.js';

/**
 * The packed uint8 cache a trainer reads by offset: slot k holds one R×R×3 RGB square at byte
 * k·R²·3. One file per dataset × resolution. Slots of deleted images are reused, so the file
 * never needs compacting; which slots are live is in the database.
 */
export class PackedCache {
  readonly slotBytes: number;
  #handle: FileHandle | null = null;
  #opening: Promise<FileHandle> | null = null;

  constructor(
    readonly file: string,
    readonly resolution: number,
  ) {
    this.slotBytes = resolution * resolution * 3;
  }

  async #fd(): Promise<FileHandle> {
    if (this.#handle) return this.#handle;
    this.#opening ??= (async () => {
      mkdirSync(dirname(this.file), { recursive: true });
      // 'a+' would force appends; open read-write, creating if missing.
      const h = await open(this.file, 'r+').catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        return open(this.file, 'w+');
      });
      this.#handle = h;
      return h;
    })();
    return this.#opening;
  }

  async writeSlot(slot: number, pixels: Uint8Array): Promise<void> {
    if (pixels.length !== this.slotBytes)
      throw new RangeError(`slot data must be ${this.slotBytes} bytes, got ${pixels.length}`);
    await writeFully(await this.#fd(), pixels, slot * this.slotBytes);
  }

  async readSlot(slot: number): Promise<Buffer> {
    const fd = await this.#fd();
    const out = Buffer.alloc(this.slotBytes);
    const { bytesRead } = await fd.read(out, 0, this.slotBytes, slot * this.slotBytes);
    if (bytesRead !== this.slotBytes) throw new Error(`slot ${slot} is beyond the end of ${this.file}`);
    return out;
  }

  /** Makes written slots durable; called at the end of every ingest pass. */
  async sync(): Promise<void> {
    if (this.#handle) await this.#handle.datasync();
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    this.#opening = null;
    if (h) {
      await h.datasync().catch(() => {});
      await h.close();
    }
  }
}

/** Lowest free slot numbers first, so the cache stays dense. */
export class SlotAllocator {
  readonly #used = new Set<number>();
  #next = 0;

  constructor(used: Iterable<number>) {
    for (const s of used) this.#used.add(s);
  }

  take(): number {
    while (this.#used.has(this.#next)) this.#next++;
    this.#used.add(this.#next);
    return this.#next;
  }

  release(slot: number): void {
    this.#used.delete(slot);
    if (slot < this.#next) this.#next = slot;
  }
}
