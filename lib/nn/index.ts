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
import * as init from './init.js';
export { init };
