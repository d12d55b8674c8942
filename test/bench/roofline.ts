/**
 * The roofline of wasm on this core, measured: the most float32 arithmetic wasm SIMD does per
 * second (independent f32x4 multiply and add chains held in registers, no memory traffic) and
 * the memory bandwidth a wasm instance reaches (SIMD loads of a buffer far beyond the caches, and
 * `memory.copy`). A kernel of arithmetic intensity I (FLOPs per byte it reads and writes) can go
 * no faster than min(peak, I × bandwidth): the bench prints each kernel's rate beside that bound.
 * The module is built here, byte by byte, so nothing is fetched or compiled at run time.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

/** Unsigned LEB128, as wasm encodes every index and count. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, as i32.const encodes its operand (64 needs two bytes: its bit 6 would read as a sign). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const simd = (op: number): number[] => [0xfd, ...leb(op)];

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const OP = {
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  loop: 0x03,
  block: 0x02,
  brIf: 0x0d,
  end: 0x0b,
  i32Const: 0x41,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32LtU: 0x49,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  v128Load: 0x00,
} as const;
const VOID = 0x40;

/**
 * `chains(n, m, c) -> f32`: `k` multiply chains (a ← a·m) and `k` add chains (b ← b + c), each
 * f32x4, all independent, `n` rounds: 8·k·n FLOPs.
 */
function chainsBody(k: number): number[] {
  // params: 0 n (i32), 1 m (f32), 2 c (f32); locals: 3 vm, 4 vc, 5.. accumulators (2k v128)
  const vm = 3;
  const vc = 4;
  const acc = (i: number): number => 5 + i;
  const code: number[] = [];
  code.push(OP.localGet, 1, ...simd(OP.f32x4Splat), OP.localSet, vm);
  code.push(OP.localGet, 2, ...simd(OP.f32x4Splat), OP.localSet, vc);
  for (let i = 0; i < 2 * k; i++) code.push(OP.localGet, vc, OP.localSet, acc(i));
  code.push(OP.loop, VOID);
  for (let i = 0; i < k; i++)
    code.push(OP.localGet, acc(i), OP.localGet, vm, ...simd(OP.f32x4Mul), OP.localSet, acc(i));
  for (let i = k; i < 2 * k; i++)
    code.push(OP.localGet, acc(i), OP.localGet, vc, ...simd(OP.f32x4Add), OP.localSet, acc(i));
  // n ← n − 1; loop while n ≠ 0
  code.push(OP.localGet, 0, OP.i32Const, ...sleb(1), OP.i32Sub, OP.localTee, 0, OP.brIf, 0, OP.end);
  // The result depends on every chain (so none is dead code).
  code.push(OP.localGet, acc(0));
  for (let i = 1; i < 2 * k; i++) code.push(OP.localGet, acc(i), ...simd(OP.f32x4Add));
  code.push(...simd(OP.f32x4ExtractLane), 0, OP.end);
  return [...vec([[...leb(2 * k + 2), V128]]), ...code];
}

/** `sum(p, bytes) -> f32`: four f32x4 accumulators over v128 loads of [p, p + bytes), 64 bytes a round. */
function sumBody(): number[] {
  // params: 0 p, 1 end (i32); locals: 2..5 accumulators
  const code: number[] = [OP.localGet, 1, OP.localGet, 0, OP.i32Add, OP.localSet, 1];
  code.push(OP.loop, VOID);
  for (let i = 0; i < 4; i++)
    code.push(
      OP.localGet,
      2 + i,
      OP.localGet,
      0,
      ...simd(OP.v128Load),
      4,
      ...leb(16 * i),
      ...simd(OP.f32x4Add),
      OP.localSet,
      2 + i,
    );
  code.push(OP.localGet, 0, OP.i32Const, ...sleb(64), OP.i32Add, OP.localTee, 0, OP.localGet, 1, OP.i32LtU);
  code.push(OP.brIf, 0, OP.end);
  code.push(OP.localGet, 2, OP.localGet, 3, ...simd(OP.f32x4Add), OP.localGet, 4, ...simd(OP.f32x4Add));
  code.push(OP.localGet, 5, ...simd(OP.f32x4Add), ...simd(OP.f32x4ExtractLane), 0, OP.end);
  return [...vec([[...leb(4), V128]]), ...code];
}

/** `copy(dst, src, bytes)`: memory.copy (bulk memory), what a wasm kernel's memcpy becomes. */
function copyBody(): number[] {
  const code = [OP.localGet, 0, OP.localGet, 1, OP.localGet, 2, 0xfc, ...leb(10), 0, 0, OP.end];
  return [...vec([]), ...code];
}

export const CHAIN_COUNTS = [2, 4, 6, 8, 12] as const;
const PAGES = 4096; // 256 MiB: far beyond this EPYC's caches

/** The module's bytes: one `chainsK` per CHAIN_COUNTS, `sum`, `copy`, and a memory of PAGES pages. */
export function rooflineModule(): Uint8Array<ArrayBuffer> {
  const types = [
    [0x60, ...vec([[I32], [F32], [F32]]), ...vec([[F32]])], // chains
    [0x60, ...vec([[I32], [I32]]), ...vec([[F32]])], // sum
    [0x60, ...vec([[I32], [I32], [I32]]), ...vec([])], // copy
  ];
  const funcs = [...CHAIN_COUNTS.map(() => [0]), [1], [2]];
  const names = [...CHAIN_COUNTS.map((k) => `chains${k}`), 'sum', 'copy'];
  const exports = names.map((name, i) => [...vec([...name].map((ch) => [ch.charCodeAt(0)])), 0x00, ...leb(i)]);
  exports.push([...vec([...'memory'].map((ch) => [ch.charCodeAt(0)])), 0x02, 0]);
  const bodies = [...CHAIN_COUNTS.map((k) => chainsBody(k)), sumBody(), copyBody()].map((b) => [
    ...leb(b.length),
    ...b,
  ]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(3, vec(funcs)),
    ...section(5, vec([[0x00, ...leb(PAGES)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}

export interface Roofline {
  /**
   * The best f32 FLOP/s of the chains (in GFLOP/s, per second of CPU time) and how many chains of
   * each kind reached it.
   */
  simdPeakGflops: number;
  chainsAtPeak: number;
  /** GFLOP/s for each chain count: too few chains wait on latency, too many spill registers. */
  simdGflopsByChains: Record<string, number>;
  /** GB/s (per CPU second) read by SIMD loads from 128 MiB, and moved by memory.copy of 64 MiB (read + written). */
  readGBs: number;
  copyGBs: number;
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Best of `tries` runs of f, in seconds of this process's CPU time (user + system): what a core
 * does while it runs this, so a machine loaded by other work slows the count less than the wall
 * clock (a process waiting for a core is not counted; a core shared with another thread still is).
 */
function best(f: () => void, tries: number): number {
  let min = Infinity;
  for (let i = 0; i < tries; i++) {
    const t0 = process.cpuUsage();
    f();
    const used = process.cpuUsage(t0);
    min = Math.min(min, (used.user + used.system) / 1e6);
  }
  return min;
}

/**
 * Measures the roofline in this thread (a few seconds on an idle core). Run it in a process of
 * its own started with `--no-liftoff` (`measureRooflineInChild`): otherwise a call may still run
 * V8's baseline code, which keeps the chains' locals on the stack, while the optimised code
 * compiles in the background (a wasm call does not switch tiers midway).
 */
export function measureRoofline(): Roofline {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(rooflineModule()));
  const ex = instance.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory };
  const byChains: Record<string, number> = {};
  const rounds = 400_000_000; // ~3 GFLOP a try: tens of ms at the peak, far above the timer's grain
  for (const k of CHAIN_COUNTS) {
    const f = ex[`chains${k}`] as (n: number, m: number, c: number) => number;
    const s = best(() => f(rounds / k, 1, 1e-7), 3);
    byChains[k] = round((8 * k * Math.floor(rounds / k)) / s / 1e9);
  }
  const [k, peak] = Object.entries(byChains).sort((a, b) => b[1] - a[1])[0]!;
  const mib = 2 ** 20;
  new Float32Array(ex.memory.buffer).fill(1); // every page touched before it is timed
  const sum = ex.sum as (p: number, bytes: number) => number;
  const copy = ex.copy as (dst: number, src: number, bytes: number) => void;
  sum(0, mib);
  const readS = best(() => sum(0, 128 * mib), 3);
  copy(128 * mib, 0, mib);
  const copyS = best(() => copy(128 * mib, 0, 64 * mib), 3);
  return {
    simdPeakGflops: peak,
    chainsAtPeak: Number(k),
    simdGflopsByChains: byChains,
    readGBs: round((128 * mib) / readS / 1e9),
    copyGBs: round((2 * 64 * mib) / copyS / 1e9),
  };
}

/** measureRoofline in a child process with V8's optimising compiler only (see there). */
export function measureRooflineInChild(): Promise<Roofline> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--no-liftoff', SELF, '--measure'], (err, stdout, stderr) => {
      if (err) return reject(new Error(`the roofline measurement failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Roofline);
    });
  });
}

if (process.argv[1] === SELF && process.argv[2] === '--measure') console.log(JSON.stringify(measureRoofline()));
