/**
 * Where the unpickler's bytes come from: a Buffer (tests, small blobs) or a file read through a
 * small window. Large payloads (tensor data) are not read while parsing: they come back as a
 * FileRange, read later straight into the array that keeps them — so opening a 350 MB pickle
 * reads its opcodes and headers only, and loading it copies each tensor once.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { NetworkFileError } from './errors.js';

/** Payloads above this stay in the file until read. */
export const LAZY_BYTES = 16 * 1024;
const WINDOW = 16 * 1024;

/** Bytes of the file not read yet: `length` bytes from `offset`. */
export class FileRange {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly length: number,
    /** The file's size and mtime when it was parsed: a file replaced since is not read. */
    readonly stamp: string,
  ) {}

  sub(start: number, length: number): FileRange {
    return new FileRange(this.file, this.offset + start, length, this.stamp);
  }

  /** Reads `length` bytes at `start` (relative to this range) into `into`. */
  readInto(into: Uint8Array, start = 0, length = this.length - start): void {
    if (start < 0 || length < 0 || start + length > this.length)
      throw new RangeError(`read past a range of ${this.length} bytes`);
    const fd = openSync(this.file, 'r');
    try {
      const st = fstatSync(fd);
      if (`${st.size}:${st.mtimeMs}` !== this.stamp)
        throw new NetworkFileError(this.file, 'changed on disk since it was opened: open it again');
      let done = 0;
      while (done < length) {
        const n = readSync(fd, into, done, length - done, this.offset + start + done);
        if (n === 0) throw new NetworkFileError(this.file, 'is truncated (it shrank since it was opened)');
        done += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  read(): Buffer {
    const b = Buffer.allocUnsafe(this.length);
    this.readInto(b);
    return b;
  }
}

export type Bytes = Buffer | FileRange;

export const byteLength = (b: Bytes): number => b.length;

/** A byte source the unpickler reads through a window; `payload` may defer large reads. */
export interface ByteSource {
  readonly length: number;
  /** `n` bytes at `at` (a view, valid until the next call). */
  view(at: number, n: number): Buffer;
  /** A payload to keep: a copy (or a view of an in-memory source) when small, a FileRange when large. */
  payload(at: number, n: number): Bytes;
  /** A part of this source as a source of its own (a storage blob). */
  slice(at: number, n: number): ByteSource;
}

export class BufferSource implements ByteSource {
  constructor(readonly buf: Buffer) {}
  get length(): number {
    return this.buf.length;
  }
  view(at: number, n: number): Buffer {
    return this.buf.subarray(at, at + n);
  }
  payload(at: number, n: number): Bytes {
    return this.buf.subarray(at, at + n);
  }
  slice(at: number, n: number): ByteSource {
    return new BufferSource(this.buf.subarray(at, at + n));
  }
}

/** A range of an open file, read through a window. */
export class FileSource implements ByteSource {
  #win = Buffer.alloc(0);
  #winAt = 0;

  constructor(
    readonly fd: number,
    readonly range: FileRange,
    /** Payloads above this many bytes stay in the file (lowered by tests to exercise that path). */
    readonly lazyBytes = LAZY_BYTES,
  ) {}

  get length(): number {
    return this.range.length;
  }

  view(at: number, n: number): Buffer {
    if (at >= this.#winAt && at + n <= this.#winAt + this.#win.length)
      return this.#win.subarray(at - this.#winAt, at - this.#winAt + n);
    const size = Math.min(Math.max(n, WINDOW), this.range.length - at);
    const win = Buffer.allocUnsafe(Math.max(size, 0));
    let done = 0;
    while (done < size) {
      const got = readSync(this.fd, win, done, size - done, this.range.offset + at + done);
      if (got === 0) break;
      done += got;
    }
    this.#win = win.subarray(0, done);
    this.#winAt = at;
    return this.#win.subarray(0, Math.min(n, done));
  }

  payload(at: number, n: number): Bytes {
    if (n > this.lazyBytes) return this.range.sub(at, n);
    return Buffer.from(this.view(at, n)); // a copy: the window moves on
  }

  slice(at: number, n: number): ByteSource {
    return new FileSource(this.fd, this.range.sub(at, n), this.lazyBytes);
  }
}

/** A payload as a source to parse (a storage blob). */
export function sourceOf(b: Bytes, fd: number | null, lazyBytes?: number): ByteSource {
  if (Buffer.isBuffer(b)) return new BufferSource(b);
  if (fd === null) throw new Error('a file range needs its file open');
  return new FileSource(fd, b, lazyBytes);
}

/** Runs `f` with the file open (for parsing); the descriptor is closed after, whatever happens. */
export function withFile<T>(file: string, f: (fd: number, range: FileRange) => T): T {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    return f(fd, new FileRange(file, 0, st.size, `${st.size}:${st.mtimeMs}`));
  } finally {
    closeSync(fd);
  }
}
