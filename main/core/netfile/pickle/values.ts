/**
 * What the restricted unpickler builds: inert records of Python values. Nothing here can run:
 * a "call" is only the name of a known global and its arguments, for typed code to interpret.
 */

import { FileRange } from './source.js';

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Buffer // bytes / bytearray (small ones)
  | FileRange // large bytes (tensor data): still in the file
  | PyTuple
  | PyList
  | PyDict
  | PySet
  | PyGlobal
  | PyCall
  | PyPersistent;

/** A global the reader knows (module and name as the pickle spells them). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyList {
  readonly items: PyValue[] = [];
}

/** dict, or a dict subclass (`collections.OrderedDict`, `dnnlib.util.EasyDict`) named by `cls`. */
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  constructor(readonly cls: string | null = null) {}
  get(key: string): PyValue | undefined {
    return this.map.get(key);
  }
}

export class PySet {
  readonly items: PyValue[] = [];
}

/**
 * `fn(*args)` as REDUCE/NEWOBJ wrote it, with BUILD's state and any appended items — recorded,
 * never called.
 */
export class PyCall {
  state: PyValue | undefined = undefined;
  readonly listItems: PyValue[] = [];
  readonly dictItems = new Map<PyValue, PyValue>();
  constructor(
    readonly fn: PyGlobal,
    readonly args: PyValue[],
  ) {}
}

/** What a persistent-id handler returned (the storages of a `torch.save` stream). */
export class PyPersistent {
  constructor(readonly value: unknown) {}
}

/** A short description of a value for messages (bounded: never walks far). */
export function describe(v: PyValue | undefined, depth = 0): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'string') return depth > 0 ? JSON.stringify(v.slice(0, 40)) : 'a string';
  if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  if (Buffer.isBuffer(v) || v instanceof FileRange) return `${v.length} bytes`;
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (v instanceof PyList) return `a list of ${v.items.length}`;
  if (v instanceof PySet) return `a set of ${v.items.length}`;
  if (v instanceof PyDict) {
    const keys = [...v.map.keys()].slice(0, 6).map((k) => (typeof k === 'string' ? k : '…'));
    return `a dict with keys ${keys.join(', ') || '(none)'}${v.map.size > 6 ? ', …' : ''}`;
  }
  if (v instanceof PyCall) return `a ${v.fn.qualified} object`;
  if (v instanceof PyGlobal) return v.qualified;
  return 'a stored object';
}
