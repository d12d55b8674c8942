/**
 * numpy's legacy `RandomState`: MT19937 with `init_genrand` seeding, 53-bit doubles, and the
 * polar (Marsaglia) Gaussian that caches its second value. `new RandomState(s).randn(512)`
 * equals `numpy.random.RandomState(s).randn(512)`, so a seed is the same bird here and in the
 * reference's generate.py. Its whole state can be saved and restored (bit-exact resume).
 */
const N = 624;
const M = 397;

export interface RandomStateSnapshot {
  key: number[];
  pos: number;
  hasGauss: boolean;
  gauss: number;
}

export class RandomState {
  #mt = new Uint32Array(N);
  #pos = N;
  #hasGauss = false;
  #gauss = 0;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`seed must be an integer in 0..2^32-1, got ${seed}`);
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.#mt[i] = s;
      // s = 1812433253 * (s ^ (s >>> 30)) + i + 1, in 32-bit arithmetic
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
  }

  #generate(): void {
    const mt = this.#mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
      mt[i] = mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.#pos = 0;
  }

  /** Next 32-bit output. */
  uint32(): number {
    if (this.#pos >= N) this.#generate();
    let y = this.#mt[this.#pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal draw (legacy polar method). */
  gauss(): number {
    if (this.#hasGauss) {
      this.#hasGauss = false;
      return this.#gauss;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.random() - 1;
      x2 = 2 * this.random() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.#gauss = f * x1;
    this.#hasGauss = true;
    return f * x2;
  }

  /** `randn(n)` as float64. */
  randn(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.gauss();
    return out;
  }

  /** `randn(n)` rounded to float32 (what the networks consume). */
  randnF32(n: number, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.gauss() * scale;
    return out;
  }

  /** Integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  snapshot(): RandomStateSnapshot {
    return { key: Array.from(this.#mt), pos: this.#pos, hasGauss: this.#hasGauss, gauss: this.#gauss };
  }

  static restore(s: RandomStateSnapshot): RandomState {
    const r = new RandomState(0);
    if (s.key.length !== N) throw new Error('random state snapshot has the wrong size');
    r.#mt.set(s.key);
    r.#pos = s.pos;
    r.#hasGauss = s.hasGauss;
    r.#gauss = s.gauss;
    return r;
  }
}

/** The z of a seed, as the reference's generate.py draws it. */
export function seedToZ(seed: number, zDim = 512): Float32Array {
  return new RandomState(seed).randnF32(zDim);
}
