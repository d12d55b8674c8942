/**
 * How many worker-thread replicas (parallel.ts) a run trains with. The wasm and pure-JS
 * backends run one thread per instance in Node, so a second core needs a second instance; a GPU
 * backend (and tfjs-node's own thread pool) already uses the hardware from one process.
 * No tfjs here: the app's main process decides with it before any trainer starts.
 */
import type { BackendName } from '../runtime/backend-info.js';
import type { GanConfig } from '../gan/config.js';
import { MAX_REPLICAS } from '../../common/vocabulary.js';

/** Backends whose instances are single-threaded in Node, so replicas add cores. */
export const REPLICA_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];
/**
 * The most replicas chosen by default: each is a whole wasm instance (its own copy of the
 * weights, optimiser and activations), and past four the per-replica batch of the presets is small.
 */
export const DEFAULT_MAX_REPLICAS = 4;

export const replicasFor = (backend: BackendName): boolean => REPLICA_BACKENDS.includes(backend);

/**
 * Why `n` replicas cannot train this config, else null. Each replica's share of the batch must
 * hold whole minibatch-stddev groups, so D computes the same statistic as in one process.
 */
export function replicaProblem(config: Pick<GanConfig, 'batchSize' | 'mbstdGroupSize'>, n: number): string | null {
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS)
    return `replicas must be a whole number from 1 to ${MAX_REPLICAS}`;
  const group = Math.min(config.mbstdGroupSize, config.batchSize);
  if (config.batchSize % (n * group) === 0) return null;
  const fits = Array.from({ length: MAX_REPLICAS }, (_, i) => i + 1).filter(
    (k) => config.batchSize % (k * group) === 0,
  );
  return (
    `the batch of ${config.batchSize} does not split into ${n} replicas of whole minibatch-stddev groups ` +
    `(${group} images): choose ${fits.join(' or ')}`
  );
}

/**
 * Replicas this machine can hold by default: its cores, and no more than half its memory can
 * hold at `perReplicaMB` each (every replica is a whole wasm instance: at 64² about 3 GB).
 */
export const machineReplicas = (cores: number, perReplicaMB: number, totalMB: number): number =>
  Math.max(1, Math.min(cores, Math.floor(totalMB / 2 / perReplicaMB)));

/**
 * The default: as many replicas as cores (at most DEFAULT_MAX_REPLICAS) that the batch splits
 * into; 1 on a backend that is not single-threaded.
 */
export function defaultReplicas(
  config: Pick<GanConfig, 'batchSize' | 'mbstdGroupSize'>,
  backend: BackendName,
  cores: number,
): number {
  if (!replicasFor(backend)) return 1;
  for (let n = Math.min(cores, DEFAULT_MAX_REPLICAS); n > 1; n--) if (replicaProblem(config, n) === null) return n;
  return 1;
}

/**
 * The replicas a trainer runs on the backend it actually got: the run's number where the backend
 * is single-threaded, else 1 with the reason (the run keeps its number for a later start on wasm).
 */
export function effectiveReplicas(asked: number, backend: BackendName): { replicas: number; note: string | null } {
  if (asked <= 1 || replicasFor(backend)) return { replicas: asked, note: null };
  return {
    replicas: 1,
    note: `${asked} replicas apply to ${REPLICA_BACKENDS.join(' and ')} only; ${backend} trains in one process`,
  };
}

/**
 * The replicas a new run is created with: the user's number, checked (a RangeError saying why
 * it cannot be), or the default for the backend it will train on and this machine's cores.
 */
export function chooseReplicas(
  config: Pick<GanConfig, 'batchSize' | 'mbstdGroupSize'>,
  asked: number | undefined,
  backend: BackendName,
  cores: number,
): number {
  if (asked === undefined) return defaultReplicas(config, backend, cores);
  if (asked > 1 && !replicasFor(backend))
    throw new RangeError(
      `replicas: ${backend} trains in one process; replicas split the batch over CPU cores on ` +
        `${REPLICA_BACKENDS.join(' and ')} only`,
    );
  const problem = replicaProblem(config, asked);
  if (problem) throw new RangeError(`replicas: ${problem}`);
  return asked;
}
