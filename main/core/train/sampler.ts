/**
 * Draws training batches from the packed dataset cache: random accepted slots (with
 * replacement, from its own seeded RandomState, saved in checkpoints so resumed runs see the
 * same images), read by offset, box-filtered down when the cache is larger than the network
 * (the `tiny` preset trains at 32² from a 64² cache), scaled to [-1, 1].
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { RandomState, type RandomStateSnapshot } from '../gan/rng.js';

export class DatasetSampler {
  readonly #fd: number;
  readonly #cacheRes: number;
  readonly #res: number;
  readonly #factor: number;
  #slots: number[];
  rng: RandomState;

  constructor(cacheFile: string, cacheResolution: number, resolution: number, slots: number[], rng: RandomState) {
    if (cacheResolution % resolution !== 0)
      throw new RangeError(`a ${cacheResolution}² cache cannot feed a ${resolution}² network`);
    this.#fd = openSync(cacheFile, 'r');
    this.#cacheRes = cacheResolution;
    this.#res = resolution;
    this.#factor = cacheResolution / resolution;
    this.#slots = [...slots];
    this.rng = rng;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** New images joined (or left) the dataset: sample from these slots from now on. */
  setSlots(slots: number[]): void {
    this.#slots = [...slots];
  }

  /** n images as NHWC float32 in [-1, 1]. */
  next(n: number): Float32Array {
    if (this.#slots.length === 0) throw new Error('the dataset has no accepted images to train on');
    const slotBytes = this.#cacheRes * this.#cacheRes * 3;
    const raw = Buffer.alloc(slotBytes);
    const out = new Float32Array(n * this.#res * this.#res * 3);
    const f = this.#factor;
    const norm = 1 / (127.5 * f * f);
    for (let k = 0; k < n; k++) {
      const slot = this.#slots[this.rng.integer(0, this.#slots.length)]!;
      const got = readSync(this.#fd, raw, 0, slotBytes, slot * slotBytes);
      if (got !== slotBytes) throw new Error(`cache slot ${slot} is incomplete (${got} of ${slotBytes} bytes)`);
      const base = k * this.#res * this.#res * 3;
      for (let y = 0; y < this.#res; y++) {
        for (let x = 0; x < this.#res; x++) {
          for (let c = 0; c < 3; c++) {
            let sum = 0;
            for (let dy = 0; dy < f; dy++)
              for (let dx = 0; dx < f; dx++) sum += raw[((y * f + dy) * this.#cacheRes + (x * f + dx)) * 3 + c]!;
            out[base + (y * this.#res + x) * 3 + c] = sum * norm - 1;
          }
        }
      }
    }
    return out;
  }

  snapshot(): RandomStateSnapshot {
    return this.rng.snapshot();
  }

  close(): void {
    closeSync(this.#fd);
  }
}
