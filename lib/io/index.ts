export {
  encodeSafetensors,
  decodeSafetensors,
  saveSafetensors,
  loadSafetensors,
  MAX_HEADER_BYTES,
  MAX_SAFETENSORS_BYTES,
} from './safetensors.js';
export type { TensorData, LoadedTensor, Safetensors, Dtype } from './safetensors.js';
export { writeFileAtomic } from './atomic.js';
export type { AtomicData } from './atomic.js';
export { readRegularFile, readTextFile, RegularFile, DEFAULT_MAX_BYTES } from './read.js';
export type { ReadOptions } from './read.js';
