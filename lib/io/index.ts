export { encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, MAX_HEADER_BYTES } from './safetensors.js';
export type { TensorData, LoadedTensor, Safetensors, Dtype } from './safetensors.js';
export { writeFileAtomic } from './atomic.js';
export type { AtomicData } from './atomic.js';
