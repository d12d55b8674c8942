/**
 * Averaging across replicas (worker threads) through shared memory. Each replica writes its
 * payload into its own slot, waits at a barrier, sums every slot in replica order (so every
 * replica computes the very same floats), and waits at a second barrier before anyone may
 * overwrite a slot. Atomics.wait blocks the worker thread, which is what a synchronous training
 * step needs; it is never called on the main thread.
 */
export interface SharedReduceBuffers {
  /** Float32 slots, `capacity` floats per replica. */
  data: SharedArrayBuffer;
  /** Int32 counters: [arrivals A, released A, arrivals B, released B]. */
  control: SharedArrayBuffer;
  capacity: number;
  count: number;
}

export function createReduceBuffers(count: number, capacity: number): SharedReduceBuffers {
  return { data: new SharedArrayBuffer(count * capacity * 4), control: new SharedArrayBuffer(16), capacity, count };
}

export function makeAllReduce(buffers: SharedReduceBuffers, index: number): (payload: Float32Array) => Float32Array {
  const { count, capacity } = buffers;
  const slots = new Float32Array(buffers.data);
  const control = new Int32Array(buffers.control);
  let generation = 0;
  const barrier = (arrivals: number, released: number): void => {
    if (Atomics.add(control, arrivals, 1) + 1 === count * generation) {
      Atomics.store(control, released, generation);
      Atomics.notify(control, released);
    } else {
      while (Atomics.load(control, released) < generation) Atomics.wait(control, released, generation - 1, 60_000);
    }
  };
  return (payload) => {
    if (payload.length > capacity)
      throw new RangeError(`all-reduce payload ${payload.length} exceeds capacity ${capacity}`);
    generation++;
    slots.set(payload, index * capacity);
    barrier(0, 1);
    const mean = new Float32Array(payload.length);
    for (let r = 0; r < count; r++) {
      const slot = slots.subarray(r * capacity, r * capacity + payload.length);
      for (let i = 0; i < mean.length; i++) mean[i]! += slot[i]!;
    }
    for (let i = 0; i < mean.length; i++) mean[i]! /= count;
    barrier(2, 3);
    return mean;
  };
}
