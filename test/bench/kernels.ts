/**
 * What a piece of work dispatches, kernel by kernel: `tf.profile` records every kernel the
 * engine runs (the gradients' kernels and the Identity clones the tape saves included) with its
 * shapes and the backend's own timer (wasm: wall time around the kernel; webgpu: GPU timestamps
 * where the adapter has them, else 0). Profiling adds a little time per kernel, so the benches
 * time their work unprofiled and tally it in a separate run.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelRow {
  name: string;
  count: number;
  ms: number;
  /** Floating-point operations the kernels did, where the kernel's arithmetic is known from its shapes. */
  flops: number | null;
  /** Bytes the kernels read and wrote at the least: every input and output once, 4 bytes a value. */
  bytes: number;
}

export interface KernelTally {
  /** Kernels dispatched. */
  kernels: number;
  /** Their summed time by the backend's timer. */
  kernelMs: number;
  /** By kernel name, the most time first. */
  rows: KernelRow[];
}

const size = (shape: number[] | null | undefined): number => (shape ?? []).reduce((a, b) => a * b, 1);

/**
 * A kernel's floating-point operations from its input and output shapes (a multiply-add counts
 * two), for the kernels whose arithmetic dominates; null for the rest (memory-bound: their
 * rate in FLOP/s would say nothing).
 */
export function kernelFlops(name: string, inputs: (number[] | null)[], outputs: number[][]): number | null {
  const out = outputs[0];
  if (!out) return null;
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const [kh, kw, cin] = inputs[1] ?? [];
      return 2 * size(out) * kh! * kw! * cin!;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const [kh, kw] = inputs[1] ?? [];
      return 2 * size(out) * kh! * kw!;
    }
    case 'PlumageConv2DBackpropInput': {
      // The work of the forward convolution it is the adjoint of (the stride's zeros not counted).
      const [dy, filter] = [inputs[0] ?? [], inputs[1] ?? []];
      return 2 * size(dy) * filter[0]! * filter[1]! * filter[2]!;
    }
    case 'PlumageConv2DBackpropFilter': {
      const [kh, kw, cin] = out;
      return 2 * size(inputs[1]) * kh! * kw! * cin!;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // k from a's size: a holds batch·m·k values whether it is transposed or not.
      const a = inputs[0]!;
      const batchA = size(a.slice(0, -2));
      const m = out.at(-2)!;
      return 2 * size(out) * (size(a) / batchA / m);
    }
    default:
      return null;
  }
}

/** Runs `f` under tf.profile and tallies what it dispatched (its result is disposed if a tensor). */
export async function tallyKernels(f: () => unknown): Promise<KernelTally> {
  const info = await tf.profile(async () => {
    const r = await f();
    if (r instanceof tf.Tensor) r.dispose();
  });
  const byName = new Map<string, KernelRow>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = Number(await k.kernelTimeMs) || 0;
    kernelMs += ms;
    const row = byName.get(k.name) ?? { name: k.name, count: 0, ms: 0, flops: null, bytes: 0 };
    row.count += 1;
    row.ms += ms;
    const shapes = [...(k.inputShapes as (number[] | null)[]), ...k.outputShapes];
    row.bytes += 4 * shapes.reduce((sum: number, sh) => sum + (sh ? size(sh) : 0), 0);
    const flops = kernelFlops(k.name, k.inputShapes as (number[] | null)[], k.outputShapes);
    if (flops !== null) row.flops = (row.flops ?? 0) + flops;
    byName.set(k.name, row);
  }
  return {
    kernels: info.kernels.length,
    kernelMs,
    rows: [...byName.values()].sort((a, b) => b.ms - a.ms),
  };
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** A tally as a JSON line's field: the count, the time, and the `top` kernels by time with GFLOP/s. */
export function summariseTally(t: KernelTally, top = 6): Record<string, unknown> {
  return {
    kernels: t.kernels,
    kernelMs: round(t.kernelMs),
    top: t.rows.slice(0, top).map((r) => ({
      name: r.name,
      count: r.count,
      ms: round(r.ms),
      ...(r.flops !== null && r.ms > 0 ? { gflops: round(r.flops / 1e6 / r.ms) } : {}),
    })),
  };
}

/**
 * A tally's kernels against the roofline: per kernel, its rate (GFLOP/s where its arithmetic is
 * known, GB/s of its least traffic always), its arithmetic intensity (FLOPs per byte) and the most
 * the roofline allows it, min(peak, intensity × bandwidth), with the share of that it reached.
 */
export function againstRoofline(
  t: KernelTally,
  peakGflops: number,
  bandwidthGBs: number,
  top = 8,
): Record<string, unknown> {
  return {
    kernels: t.kernels,
    kernelMs: round(t.kernelMs),
    top: t.rows.slice(0, top).map((r) => {
      const intensity = r.flops !== null && r.bytes > 0 ? r.flops / r.bytes : null;
      const gflops = r.flops !== null && r.ms > 0 ? r.flops / 1e6 / r.ms : null;
      const bound = intensity === null ? null : Math.min(peakGflops, intensity * bandwidthGBs);
      return {
        name: r.name,
        count: r.count,
        ms: round(r.ms),
        msShare: round(r.ms / t.kernelMs, 2),
        gbs: r.ms > 0 ? round(r.bytes / 1e6 / r.ms) : null,
        ...(gflops !== null ? { gflops: round(gflops) } : {}),
        ...(intensity !== null ? { flopsPerByte: round(intensity) } : {}),
        ...(bound !== null && gflops !== null ? { boundGflops: round(bound), ofBound: round(gflops / bound, 2) } : {}),
      };
    }),
  };
}
