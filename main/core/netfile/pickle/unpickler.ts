/**
 * A restricted unpickler over the opcode table of protocols 0–5 (Python's `pickletools`), written
 * for network files: it builds inert records (values.ts), resolves globals only from a short list
 * (globals.ts) and refuses any other by name, and never calls, imports or evaluates anything.
 *
 * Bounded: every opcode consumes at least one byte of a buffer whose size was checked when the
 * file was read, and does constant work per stack item it pushes or pops, so time is linear in
 * the file; the stack, the mark nesting, the memo and integer sizes have limits of their own.
 * Large bytes stay in the file (source.ts) until read. It can read several pickles in a row (a legacy
 * `torch.save` stream) through `end`.
 */
import { NetworkFileError } from './errors.js';
import { FOREIGN_NETWORKS, globalKind } from './globals.js';
import { BufferSource, type ByteSource, type Bytes } from './source.js';
import { PyCall, PyDict, PyGlobal, PyList, PyPersistent, PySet, PyTuple, type PyValue } from './values.js';

export interface Limits {
  maxStack: number; // values on the stack at once
  maxMarks: number; // nesting of MARK … (tuples, lists, dicts being built)
  maxMemo: number; // memo entries
  maxLongBytes: number; // bytes in one LONG1/LONG4 integer
}

export const DEFAULT_LIMITS: Limits = {
  maxStack: 1_000_000,
  maxMarks: 1_000,
  maxMemo: 1_000_000, // a 1024² snapshot memoizes about 50 000 values
  maxLongBytes: 64,
};

export interface UnpickleOptions {
  /** Named in every message. */
  file: string;
  /** Turns a persistent id (BINPERSID/PERSID) into a value; absent: persistent ids are refused. */
  persistentLoad?: (pid: PyValue) => unknown;
  limits?: Partial<Limits>;
}

const utf8 = new TextDecoder('utf-8');

/** Reads one pickle starting at `start`; returns its value and the offset just after STOP. */
export function unpickle(
  input: Buffer | ByteSource,
  start: number,
  opts: UnpickleOptions,
): { value: PyValue; end: number } {
  const src = Buffer.isBuffer(input) ? new BufferSource(input) : input;
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const file = opts.file;
  const fail = (why: string): never => {
    throw new NetworkFileError(file, why);
  };
  const damaged = (why: string): never => fail(`is damaged or not a network pickle: ${why}`);
  let pos = start;
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();

  const need = (n: number): void => {
    if (n < 0 || pos + n > src.length) fail(`is truncated (a pickle needs ${n} more bytes at offset ${pos})`);
  };
  const bytes = (n: number): Buffer => {
    need(n);
    const v = src.view(pos, n);
    pos += n;
    return v;
  };
  const u8 = (): number => bytes(1)[0]!;
  const u16 = (): number => bytes(2).readUInt16LE(0);
  const u32 = (): number => bytes(4).readUInt32LE(0);
  const i32 = (): number => bytes(4).readInt32LE(0);
  const u64 = (): number => {
    const v = bytes(8).readBigUInt64LE(0);
    if (v > BigInt(src.length - pos))
      fail(`is truncated or damaged: it declares ${v} bytes at offset ${pos - 8} where ${src.length - pos} remain`);
    return Number(v);
  };
  /** bytes / bytearray payloads: kept (large ones stay in the file). */
  const take = (n: number): Bytes => {
    need(n);
    const v = src.payload(pos, n);
    pos += n;
    return v;
  };
  const text = (n: number, enc: 'utf8' | 'latin1'): string =>
    enc === 'utf8' ? utf8.decode(bytes(n)) : bytes(n).toString('latin1');
  const line = (): string => {
    const v = src.view(pos, Math.min(4097, src.length - pos));
    const nl = v.indexOf(0x0a);
    if (nl < 0) fail(`is truncated (a text line at offset ${pos} never ends)`);
    const s = v.toString('latin1', 0, nl);
    pos += nl + 1;
    return s;
  };

  const push = (v: PyValue): void => {
    if (stack.length >= limits.maxStack) fail(`is refused: more than ${limits.maxStack} values on the pickle stack`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!))
      damaged(`the stack is empty at offset ${pos - 1}`);
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!))
      damaged(`the stack is empty at offset ${pos - 1}`);
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const at = marks.pop();
    if (at === undefined) return damaged(`no mark at offset ${pos - 1}`);
    return stack.splice(at);
  };
  const pushMark = (): void => {
    if (marks.length >= limits.maxMarks) fail(`is refused: nested more than ${limits.maxMarks} deep`);
    marks.push(stack.length);
  };
  const memoPut = (i: number, v: PyValue): void => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) fail(`is refused: more than ${limits.maxMemo} memo entries`);
    memo.set(i, v);
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) damaged(`memo entry ${i} is read before it is written`);
    return memo.get(i)!;
  };
  const long = (n: number): number | bigint => {
    if (n > limits.maxLongBytes) fail(`is refused: a ${n}-byte integer`);
    if (n < 0) damaged(`a negative length at offset ${pos}`);
    if (n === 0) return 0;
    const b = bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(n * 8);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const findGlobal = (module: string, name: string): PyGlobal => {
    const kind = globalKind(module, name);
    if (kind === null) {
      const foreign = FOREIGN_NETWORKS[`${module}.${name}`];
      if (foreign) fail(`holds ${foreign}: Plumage opens StyleGAN2 networks only`);
      fail(`calls ${module}.${name}: not a StyleGAN2 network (Plumage never runs code from a pickle)`);
    }
    return new PyGlobal(module, name);
  };
  /** REDUCE / NEWOBJ: an inert record, or a container for the dict and set classes. */
  const call = (fn: PyValue, args: PyValue[]): PyValue => {
    if (!(fn instanceof PyGlobal)) return damaged(`a call to ${typeof fn} at offset ${pos - 1}`);
    const kind = globalKind(fn.module, fn.name);
    if (kind === 'dict') {
      const d = new PyDict(fn.qualified);
      const init = args[0];
      if (init instanceof PyDict) for (const [k, v] of init.map) d.map.set(k, v);
      return d;
    }
    if (kind === 'set') {
      const s = new PySet();
      const init = args[0];
      if (init instanceof PyList || init instanceof PyTuple) s.items.push(...init.items);
      return s;
    }
    if (kind === 'codec') {
      const [text, encoding] = args;
      if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1'))
        return damaged(`_codecs.encode with unexpected arguments`);
      return Buffer.from(text, 'latin1');
    }
    return new PyCall(fn, args);
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (items.length % 2 !== 0) damaged(`an odd number of dict items at offset ${pos - 1}`);
    const map = target instanceof PyDict ? target.map : target instanceof PyCall ? target.dictItems : null;
    if (!map) return damaged(`dict items added to ${typeof target} at offset ${pos - 1}`);
    for (let i = 0; i < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    if (target instanceof PyList) target.items.push(...items);
    else if (target instanceof PyCall) target.listItems.push(...items);
    else damaged(`items appended to ${typeof target} at offset ${pos - 1}`);
  };
  const persistent = (pid: PyValue): PyValue => {
    if (!opts.persistentLoad) return fail('uses persistent ids outside a torch.save stream: not a network pickle');
    return new PyPersistent(opts.persistentLoad(pid));
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) damaged('a pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: framing only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) damaged(`${stack.length} values left at STOP`);
        return { value: pop(), end: pos };
      case 0x28: // MARK
        pushMark(); // a mark is a stack length, not a slot
        break;
      case 0x30: // POP
        if (stack.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      // ── constants ──
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(u8()));
        break;
      case 0x8b: // LONG4
        push(long(i32()));
        break;
      case 0x49: {
        // INT (text); protocol 0/1 spell booleans I00 / I01
        const s = line();
        if (s === '00' || s === '01') push(s === '01');
        else push(textInt(s, damaged));
        break;
      }
      case 0x4c: // LONG (text)
        push(textInt(line().replace(/L$/, ''), damaged));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        push(bytes(8).readDoubleBE(0));
        break;
      case 0x46: {
        // FLOAT (text)
        const f = Number(line());
        if (Number.isNaN(f)) damaged('a text float that is not a number');
        push(f);
        break;
      }
      // ── strings and bytes ──
      case 0x58: // BINUNICODE
        push(text(u32(), 'utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8(), 'utf8'));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64(), 'utf8'));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str: read as latin-1 text)
        push(text(u8(), 'latin1'));
        break;
      case 0x54: // BINSTRING
        push(text(i32(), 'latin1'));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()));
        break;
      case 0x42: // BINBYTES
        push(take(u32()));
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()));
        break;
      case 0x96: // BYTEARRAY8
        push(take(u64()));
        break;
      // ── containers ──
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        push(new PyList());
        break;
      case 0x6c: {
        // LIST
        const l = new PyList();
        l.items.push(...popMark());
        push(l);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new PySet());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) damaged(`items added to a non-set at offset ${pos - 1}`);
        (s as PySet).items.push(...items);
        break;
      }
      case 0x91: {
        // FROZENSET
        const s = new PySet();
        s.items.push(...popMark());
        push(s);
        break;
      }
      // ── memo ──
      case 0x70: // PUT (text)
        memoPut(textIndex(line(), damaged), top());
        break;
      case 0x71: // BINPUT
        memoPut(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size, top());
        break;
      case 0x67: // GET (text)
        push(memoGet(textIndex(line(), damaged)));
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      // ── globals and calls: recorded, never run ──
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        push(findGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') return damaged('STACK_GLOBAL without names');
        push(findGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) return damaged(`REDUCE without an argument tuple at offset ${pos - 1}`);
        push(call(fn, args.items));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) return damaged(`NEWOBJ without an argument tuple at offset ${pos - 1}`);
        push(call(cls, args.items));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) return damaged(`NEWOBJ_EX without an argument tuple at offset ${pos - 1}`);
        push(call(cls, args.items));
        break;
      }
      case 0x69: {
        // INST "module\nname\n" with the arguments since the mark
        const module = line();
        const g = findGlobal(module, line());
        push(call(g, popMark()));
        break;
      }
      case 0x6f: {
        // OBJ: class and arguments since the mark
        const items = popMark();
        if (items.length === 0) return damaged('OBJ without a class');
        push(call(items[0]!, items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD: state for the object below it
        const state = pop();
        const obj = top();
        if (obj instanceof PyCall) obj.state = state;
        else if (obj instanceof PyDict && (state === null || state instanceof PyDict)) {
          // an EasyDict's own __dict__: its items are what count
        } else damaged(`BUILD on ${typeof obj} at offset ${pos - 1}`);
        break;
      }
      case 0x51: // BINPERSID
        push(persistent(pop()));
        break;
      case 0x50: // PERSID (text)
        push(persistent(line()));
        break;
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4
        return fail('uses the copyreg extension registry: not a network pickle');
      case 0x97:
      case 0x98: // NEXT_BUFFER / READONLY_BUFFER
        return fail('uses out-of-band buffers, which a file cannot carry: not a network pickle');
      case 0x53:
      case 0x56: // STRING / UNICODE (protocol 0 text): no network file uses them
        return fail('is a text-protocol pickle: not a network pickle');
      default:
        return damaged(`unknown opcode 0x${op.toString(16)} at offset ${pos - 1}`);
    }
  }
}

function textInt(s: string, damaged: (why: string) => never): number | bigint {
  if (!/^[-+]?\d{1,40}$/.test(s)) damaged('a text integer that is not a number');
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function textIndex(s: string, damaged: (why: string) => never): number {
  if (!/^\d{1,10}$/.test(s)) damaged('a memo index that is not a number');
  return Number(s);
}
