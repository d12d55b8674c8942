/**
 * The only globals a network pickle may name. Each is recorded, never imported or called:
 * typed code (torch.ts, numpy.ts, the format readers) interprets the records. Anything else is
 * refused by name — `os.system`, `builtins.eval`, `subprocess.Popen` — before a single argument
 * is read, since no StyleGAN2 network needs it.
 */

export type GlobalKind =
  | 'dict' // a dict subclass: calling it with no arguments makes an empty dict
  | 'set' // set / frozenset: calling it with one list makes a set
  | 'codec' // _codecs.encode(str, 'latin1'): how protocol 2 spells bytes
  | 'record'; // a call to keep as a PyCall

const KNOWN: Record<string, GlobalKind> = {
  // Python itself
  'collections.OrderedDict': 'dict',
  'builtins.set': 'set',
  'builtins.frozenset': 'set',
  '__builtin__.set': 'set',
  '_codecs.encode': 'codec',
  // dnnlib (both repositories): a dict with attribute access
  'dnnlib.util.EasyDict': 'dict',
  'dnnlib.EasyDict': 'dict',
  // stylegan2-ada-pytorch / stylegan3: persistent classes and tensors
  'torch_utils.persistence._reconstruct_persistent_obj': 'record',
  'torch._utils._rebuild_tensor': 'record',
  'torch._utils._rebuild_tensor_v2': 'record',
  'torch._utils._rebuild_parameter': 'record',
  'torch._utils._rebuild_parameter_with_state': 'record',
  'torch.storage._load_from_bytes': 'record',
  'torch.device': 'record',
  // the TensorFlow networks
  'dnnlib.tflib.network.Network': 'record',
  // numpy arrays and scalars (TF variables, and numpy floats kept in module attributes)
  'numpy.core.multiarray._reconstruct': 'record',
  'numpy._core.multiarray._reconstruct': 'record',
  'numpy.core.multiarray.scalar': 'record',
  'numpy._core.multiarray.scalar': 'record',
  'numpy.core.numeric._frombuffer': 'record',
  'numpy._core.numeric._frombuffer': 'record',
  'numpy.ndarray': 'record',
  'numpy.dtype': 'record',
};

/** Storage classes a `torch.save` stream names in its persistent ids, and their element types. */
export const TORCH_STORAGES: Record<string, StorageDtype> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

export type StorageDtype =
  'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const ELEMENT_BYTES: Record<StorageDtype, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Globals that identify a network Plumage cannot use, with what to call it. */
export const FOREIGN_NETWORKS: Record<string, string> = {
  'tfutil.Network': 'a ProGAN (progressive growing) network',
  'dnnlib.tflib.network.Network': 'a TensorFlow network',
};

export function globalKind(module: string, name: string): GlobalKind | 'storage' | null {
  if (module === 'torch' && name in TORCH_STORAGES) return 'storage';
  return KNOWN[`${module}.${name}`] ?? null;
}
