/**
 * tfjs's backward pass, changed only in when it lets go of memory.
 *
 * The stock `engine.gradients` (tfjs-core 4.22) keeps every node's gradient (dy) until the whole
 * backward pass ends, and every tensor saved for the backward pass until then too. So a step's
 * peak is all forward activations plus all their gradients at once. Here, once a node's input
 * gradients are computed, its outputs' gradients are disposed (every consumer of an output comes
 * later on the tape, so its gradient is complete and used by this node alone) and, in an
 * outermost backward pass, so are the tensors the node saved (nothing else reads them). Inside
 * a nested pass (R1 and path length differentiate a gradient) the saved tensors stay for the
 * outer pass, and a disposed dy that the outer tape saved lives on in its own clone.
 * Measured on the 64² preset on wasm (4 images, after the shared Identity of wasm-memory.ts):
 * see docs/DECISIONS.md. The results are the same tensors the stock pass computes.
 *
 * `filteredTape` follows tfjs-core's `getFilteredNodesXToY` (tape.ts, Apache-2.0), which the
 * package does not export. Both follow tfjs-core 4.22's engine, so the pass installs on that
 * release only (tfjs-version.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertPatchedVersion } from './tfjs-version.js';
import { add } from '../kernels/lean-ops.js';
import { fusedKernelsEnabled } from '../kernels/fused.js';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  tidy<T extends tf.TensorContainer>(f: () => T): T;
  gradients: Gradients;
}

type Gradients = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

/** The nodes on a path from some x to y, each with its inputs pruned to those that depend on an x. */
function filteredTape(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const input of Object.values(node.inputs)) toY.add(input.id);
      nodesToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, input] of Object.entries(node.inputs)) if (fromX.has(input.id)) inputs[name] = input;
    out.push({ ...node, inputs });
  }
  return out;
}

/**
 * The tape's copies: tfjs records each tensor it saves for a gradient as a node (input x, output
 * the saved copy) whose gradient is a Cast of dy to float32, a kernel that copies. dy is float32
 * already, so it passes as it is: the holders count below keeps it alive while either entry holds
 * it. Path length's and R1's outer pass reach one such node per saved tensor an inner gradient read.
 * With the fused kernels off (the bench's composed side) the Cast runs as in tfjs.
 */
function copyNodes(tape: TapeNode[]): (node: TapeNode, dy: tf.Tensor | null | undefined) => boolean {
  const copies = new Set<number>();
  for (const node of tape) for (const t of node.saved ?? []) copies.add(t.id);
  const on = fusedKernelsEnabled();
  return (node, dy) =>
    on &&
    !!dy &&
    dy.dtype === 'float32' &&
    node.outputs.length === 1 &&
    copies.has(node.outputs[0]!.id) &&
    Object.keys(node.inputs).length === 1 &&
    'x' in node.inputs;
}

/** The engine's own `gradients` and ours, once installed. */
let passes: { stock: Gradients; frugal: Gradients } | null = null;

/** The private parts of tfjs-core's engine the pass uses, checked so a change fails here and not mid-step. */
function engineInternals(): EngineInternals {
  const engine = tf.engine() as unknown as Partial<EngineInternals>;
  const missing: string[] = ['scopedRun', 'startTape', 'endTape', 'tidy', 'gradients'].filter(
    (k) => typeof engine[k as keyof EngineInternals] !== 'function',
  );
  // state.activeTape exists only once a tape has started; gradientDepth from the start.
  if (typeof engine.state?.gradientDepth !== 'number') missing.push('state.gradientDepth');
  if (missing.length)
    throw new Error(
      `runtime/tape.ts: tfjs-core's engine no longer has ${missing.join(', ')}; the backward pass cannot install`,
    );
  return engine as EngineInternals;
}

/**
 * Replaces the engine's `gradients` (used by tf.grad, tf.grads, tf.variableGrads, …) once per
 * process. Refuses a tfjs-core other than the one it was written for (`version`: the loaded one).
 */
export function installFrugalGradients(version: string = tf.version_core): void {
  if (passes) return;
  assertPatchedVersion('The frugal backward pass (runtime/tape.ts)', '@tensorflow/tfjs-core', version);
  const engine = engineInternals();
  passes = { stock: engine.gradients, frugal: frugalGradients(engine) };
  engine.gradients = passes.frugal;
}

/**
 * Switches between tfjs's own backward pass (`true`) and the frugal one, once installed: the
 * tests hold the frugal pass to the stock one, bit for bit.
 */
export function useStockGradients(stock: boolean): void {
  if (passes) (tf.engine() as unknown as EngineInternals).gradients = stock ? passes.stock : passes.frugal;
}

function frugalGradients(engine: EngineInternals): Gradients {
  return function gradients(f, xs, dy, allowNoGradients = false) {
    if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
    if (dy && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy('forward', f),
    );
    if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
    const tape = filteredTape(engine.state.activeTape!, xs, y);
    if (!allowNoGradients && tape.length === 0)
      throw new Error(
        'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all ' +
          'operations that lead from x to y.',
      );
    return engine.tidy('backward', () => {
      const outermost = engine.state.gradientDepth === 0;
      const passesThrough = copyNodes(engine.state.activeTape!);
      const grads = new Map<number, tf.Tensor>([[y.id, dy ?? tf.ones(y.shape)]]);
      // How many entries of `grads` hold each tensor object, so one held twice is never disposed early.
      const holders = new Map<tf.Tensor, number>();
      const hold = (t: tf.Tensor, by: number): void => void holders.set(t, (holders.get(t) ?? 0) + by);
      hold(grads.get(y.id)!, 1);
      const wanted = new Set(xs.map((x) => x.id));
      for (let i = tape.length - 1; i >= 0; i--) {
        const node = tape[i]!;
        const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
        if (!node.gradient)
          throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const inputGrads = passesThrough(node, dys[0]) ? { x: () => dys[0]! } : node.gradient(dys);
        for (const [name, x] of Object.entries(node.inputs)) {
          if (!(name in inputGrads))
            throw new Error(
              `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGrads).join(',')}.`,
            );
          const dx = engine.tidy(() => inputGrads[name]!());
          if (dx.dtype !== 'float32')
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, ` +
                `but has '${dx.dtype}'`,
            );
          if (!tf.util.arraysEqual(dx.shape, x.shape))
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', ` +
                `which does not match the shape of the input '${x.shape}'`,
            );
          const current = grads.get(x.id);
          if (!current) {
            grads.set(x.id, dx);
            hold(dx, 1);
          } else {
            // The lean add: a sum taken inside a nested pass (path length's, R1's) saves no copies.
            const sum = add(current, dx);
            grads.set(x.id, sum);
            hold(sum, 1);
            hold(current, -1);
            if (!holders.get(current)) current.dispose();
          }
        }
        // This node was the last reader of its outputs' gradients (and, outermost, of what it saved).
        for (const o of node.outputs) {
          const g = grads.get(o.id);
          if (!g || wanted.has(o.id)) continue;
          grads.delete(o.id);
          hold(g, -1);
          if (!holders.get(g) && g !== dy) g.dispose();
        }
        if (outermost) for (const t of node.saved ?? []) t.dispose();
      }
      const result = xs.map((x) => grads.get(x.id)!);
      if (outermost) {
        for (const node of engine.state.activeTape!) for (const t of node.saved ?? []) t.dispose();
        engine.state.activeTape = null;
      }
      return { value: y, grads: result };
    });
  };
}
