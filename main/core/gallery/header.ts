/** A generator file's resolution from its safetensors header alone (the UI needs it before any pixels). */
import { open } from 'node:fs/promises';
import { isNetworkPickle, pickleResolution } from '../netfile/generator-file.js';

/** Headers above this are not ones Plumage or the reference write; refusing them bounds the read. */
const MAX_HEADER_BYTES = 16 * 2 ** 20;

export class GeneratorFileError extends Error {
  readonly code = 'invalid-input';
}

export async function generatorResolution(file: string): Promise<number> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw Object.assign(
      new Error(
        `cannot open checkpoint ${file}: ${err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message)}`,
      ),
      {
        code: err.code === 'ENOENT' ? 'not-found' : 'invalid-input',
      },
    );
  });
  try {
    if (await isNetworkPickle(file)) return await pickleResolution(file); // h-pickle: NVIDIA's .pkl files
    const len = Buffer.alloc(8);
    if ((await fh.read(len, 0, 8, 0)).bytesRead < 8) throw new GeneratorFileError(`${file} is not a safetensors file`);
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > MAX_HEADER_BYTES) throw new GeneratorFileError(`${file} is not a safetensors file`);
    const buf = Buffer.alloc(n);
    if ((await fh.read(buf, 0, n, 8)).bytesRead < n) throw new GeneratorFileError(`${file} is truncated`);
    let names: string[];
    try {
      names = Object.keys(JSON.parse(buf.toString('utf8')) as object);
    } catch {
      throw new GeneratorFileError(`${file} is not a safetensors file (its header is not JSON)`);
    }
    const res = names.map((k) => /(?:^|\.)synthesis\.b(\d+)\./.exec(k)?.[1]).filter((r) => r !== undefined);
    if (res.length === 0 || !names.some((k) => k.endsWith('mapping.fc0.weight')))
      throw new GeneratorFileError(`${file} holds no generator (no mapping and synthesis tensors)`);
    return Math.max(...res.map(Number));
  } finally {
    await fh.close();
  }
}
