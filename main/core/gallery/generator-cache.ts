/** The generator a gallery process (or drawing thread) has loaded, kept between tasks. */
import { loadGenerator } from '../netfile/generator-file.js';
import { WeightConstants } from '../gan/ops.js';
import { checkUserFile } from '../util/user-file.js';
import type { Generator } from './render.js';

/**
 * One loaded generator at a time: a gallery looks at one model; switching frees the last one's
 * tensors. Keyed by path, size and mtime, so a file replaced on disk is read again.
 */
export class GeneratorCache {
  #key = '';
  #gen: Generator | null = null;

  async get(file: string): Promise<Generator> {
    const checked = await checkUserFile(file, 'generator file');
    if (!checked.ok) throw checked.error;
    const key = `${checked.abs}\0${checked.stat.size}\0${checked.stat.mtimeMs}`;
    if (this.#gen && key === this.#key) return this.#gen;
    this.dispose();
    const gen: Generator = { ...(await loadGenerator(file)), constants: new WeightConstants() };
    this.#gen = gen;
    this.#key = key;
    return gen;
  }

  dispose(): void {
    this.#gen?.constants?.dispose();
    this.#gen?.G.dispose();
    this.#gen = null;
    this.#key = '';
  }
}
