/** The generator a gallery process (or drawing thread) has loaded, kept between tasks. */
import { stat } from 'node:fs/promises';
import { loadGenerator } from '../gan/checkpoint.js';
import { WeightConstants } from '../gan/ops.js';
import type { Generator } from './render.js';

/**
 * One loaded generator at a time: a gallery looks at one model; switching frees the last one's
 * tensors. Keyed by path, size and mtime, so a file replaced on disk is read again.
 */
export class GeneratorCache {
  #key = '';
  #gen: Generator | null = null;

  async get(file: string): Promise<Generator> {
    const st = await stat(file).catch(() => null);
    if (!st) throw Object.assign(new Error(`cannot open checkpoint ${file}: no such file`), { code: 'not-found' });
    const key = `${file}\0${st.size}\0${st.mtimeMs}`;
    if (this.#gen && key === this.#key) return this.#gen;
    this.dispose();
    this.#gen = { ...(await loadGenerator(file)), constants: new WeightConstants() };
    this.#key = key;
    return this.#gen;
  }

  dispose(): void {
    this.#gen?.constants?.dispose();
    this.#gen?.G.dispose();
    this.#gen = null;
    this.#key = '';
  }
}
