/** nn: modules with PyTorch's names and layouts, and parameter initialisation. */
export { Module } from './module.js';
export type { StateDict, ModuleSpec } from './module.js';
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
  mlp,
} from './layers.js';
export { Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './conv.js';
export type { Conv2dLayerOptions } from './conv.js';
import * as init from './init.js';
export { init };
