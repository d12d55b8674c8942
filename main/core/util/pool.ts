/** Runs async jobs with at most `limit` in flight (sharp decodes on libuv threads; a few at once
 *  keeps both cores busy without the memory of a hundred decodes). */
export class WorkPool {
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    while (this.#running >= this.limit) await new Promise<void>((r) => this.#waiting.push(r));
    this.#running++;
    try {
      return await job();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  get busy(): number {
    return this.#running;
  }
}
