/** nn: modules with PyTorch's names and layouts, and parameter initialisation. */
export { Module } from './module.js';
export type { StateDict, ModuleSpec, BufferOptions } from './module.js';
export { BatchNorm1d, BatchNorm2d } from './norm.js';
export type { BatchNormOptions, BatchNormSpec } from './norm.js';
export {
  Linear,
  ReLU,
  Sigmoid,
  Tanh,
  Flatten,
  Dropout,
  Sequential,
  moduleFromSpec,
  specParameterShapes,
  specBufferShapes,
  mlp,
} from './layers.js';
export { LayerNorm } from './layer-norm.js';
export type { LayerNormOptions } from './layer-norm.js';
export { Embedding } from './embedding.js';
export type { EmbeddingLayerOptions } from './embedding.js';
export { Dropout2d } from './dropout2d.js';
export { Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './conv.js';
export type { Conv2dLayerOptions } from './conv.js';
import * as init from './init.js';
export { init };
