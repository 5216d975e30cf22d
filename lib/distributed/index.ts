/**
 * Data-parallel training across processes and machines on Gloo (PyTorch's CPU collective
 * library), in the spirit of torch.distributed: init, allReduce / broadcast / barrier on
 * Float32Arrays, DistributedDataParallel (or `fit({ distributed: true })`), DistributedSampler,
 * and `nodegrad launch` to start the processes. Needs the optional Gloo module
 * (`apt-get install libgloo-dev && npm run build:distributed`).
 */
export {
  init,
  destroy,
  isInitialized,
  getRank,
  getWorldSize,
  allReduce,
  allReduceSync,
  broadcast,
  broadcastSync,
  barrier,
  barrierSync,
} from './process-group.js';
export type { InitOptions, ReduceOp } from './process-group.js';
export { isAvailable, DistributedUnavailableError } from './native.js';
export { DistributedDataParallel } from './ddp.js';
export type { DistributedDataParallelOptions } from './ddp.js';
export { DistributedSampler, DistributedLoader } from './sampler.js';
export type { DistributedSamplerOptions, DistributedLoaderOptions } from './sampler.js';
