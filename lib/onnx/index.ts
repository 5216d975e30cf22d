/**
 * ONNX export: `onnx.exportModel(model, 'model.onnx')` writes a model that onnxruntime, and any
 * other ONNX runtime, runs with nodegrad's outputs; `onnx.toBytes(model)` gives the bytes.
 * Modules export through one small function a class (`registerExporter`).
 */
export { exportModel, toBytes, SUPPORTED_OPSETS, DEFAULT_OPSET } from './export.js';
export type { OnnxExportOptions, PreprocessMode } from './export.js';
export { registerExporter } from './registry.js';
export type { OnnxExporter, OnnxExportContext, OnnxValue, OnnxAttribute } from './registry.js';
