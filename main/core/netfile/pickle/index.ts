/**
 * `readNetworkPickle(path)`: NVIDIA's StyleGAN2 network pickles (stylegan2-ada-pytorch and
 * stylegan3 snapshots; the TensorFlow StyleGAN2 / StyleGAN2-ADA tuples), read without running
 * anything inside them. Opening one reads its opcodes and headers; each tensor is read from the
 * file when asked for, straight into the array that returns it.
 */
import { stat } from 'node:fs/promises';
import { constants } from 'node:buffer';
import { basename } from 'node:path';
import { NetworkFileError } from './errors.js';
import type { NetworkPickle } from './network.js';
import { readPytorchSnapshot } from './pytorch.js';
import { isTfTuple, readTfNetworks } from './tensorflow.js';
import { BufferSource, FileSource, withFile, type ByteSource } from './source.js';
import type { ParseContext } from './torch.js';
import { unpickle } from './unpickler.js';
import { PyDict, describe } from './values.js';

export { NetworkFileError } from './errors.js';
export type { NetworkName, NetworkPickle, TensorSource } from './network.js';

/** Larger than any StyleGAN2 snapshot (a 1024² G, D and G_ema in float32 is about 360 MB). */
export const MAX_PICKLE_BYTES = Math.min(4 * 2 ** 30, constants.MAX_LENGTH);

/** A pickle of protocol 2–5 starts with PROTO; a safetensors header's first bytes never are 0x80 0x02–0x05 then '{'. */
export function looksLikePickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5 && head[8] !== 0x7b;
}

export interface ReadOptions {
  /** Payloads above this many bytes stay in the file until read (default 16 KiB). */
  lazyBytes?: number;
}

export async function readNetworkPickle(file: string, opts: ReadOptions = {}): Promise<NetworkPickle> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message);
    throw Object.assign(new Error(`cannot open ${file}: ${why}`), {
      code: err.code === 'ENOENT' ? 'not-found' : 'invalid-input',
    });
  });
  if (!st.isFile()) throw new NetworkFileError(file, 'is a folder, not a network file');
  if (st.size > MAX_PICKLE_BYTES)
    throw new NetworkFileError(
      file,
      `is ${(st.size / 2 ** 30).toFixed(1)} GiB, larger than any StyleGAN2 network pickle`,
    );
  // Parsing reads opcodes and headers only (tensor data is skipped), so it is done synchronously.
  return withFile(file, (fd, range) =>
    parse(new FileSource(fd, range, opts.lazyBytes), { file, fd, lazyBytes: opts.lazyBytes }),
  );
}

/** The same from bytes already in memory (named `file` in messages). */
export function parseNetworkPickle(buf: Buffer, file: string): NetworkPickle {
  return parse(new BufferSource(buf), { file, fd: null });
}

function parse(src: ByteSource, ctx: ParseContext): NetworkPickle {
  const { file } = ctx;
  const head = src.view(0, Math.min(4, src.length));
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50)
    throw new NetworkFileError(file, 'is a zip archive (a torch.save checkpoint?), not a network pickle');
  if (head.length === 0) throw new NetworkFileError(file, 'is empty');
  if (head[0] !== 0x80) throw new NetworkFileError(file, 'is not a pickle (nor a safetensors file)');
  const { value } = unpickle(src, 0, { file });
  if (value instanceof PyDict && (value.map.has('G_ema') || value.map.has('G'))) return readPytorchSnapshot(ctx, value);
  if (isTfTuple(value)) return readTfNetworks(file, value);
  throw new NetworkFileError(file, `holds no StyleGAN2 networks (it is ${describe(value)})`);
}

/** One line for the user: what the file is and what Plumage took from it. */
export function summary(p: NetworkPickle): string {
  const kind = p.kind === 'stylegan2-tf' ? 'TensorFlow StyleGAN2' : 'StyleGAN2-ADA (PyTorch)';
  const extra = [
    p.kimg !== null ? `${p.kimg} kimg` : null,
    p.augmentP !== null ? `ADA p ${p.augmentP.toFixed(3)}` : null,
  ];
  return `${basename(p.file)}: ${kind} network, ${p.config.resolution}², ${p.networks.join(', ')}${extra
    .filter(Boolean)
    .map((e) => `, ${e}`)
    .join('')}${p.notes.length ? ` (${p.notes.join('; ')})` : ''}`;
}
