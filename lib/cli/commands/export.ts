/** `nodegrad export`: a saved model as an ONNX file, for onnxruntime and other runtimes. */
import { loadModel, onnx } from '../../index.js';
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { type Out, requireFile } from '../io.js';
import { describeModel } from '../model.js';

const { min, max } = onnx.SUPPORTED_OPSETS;

export const spec: CommandSpec = {
  name: 'export',
  summary: [
    'Writes a model saved by nodegrad as an ONNX model: a dynamic batch dimension, the weights',
    "under their state-dict names, and the model file's preprocessing folded into the graph (so",
    "it takes values in the data set's own units, as 'nodegrad predict' reads them) or stated in",
    'its metadata.',
  ].join('\n'),
  usage: 'nodegrad export --model FILE --onnx OUT.onnx [options]',
  options: [
    { name: 'model', type: 'string', arg: 'FILE', help: 'the model file (required)' },
    { name: 'onnx', type: 'string', arg: 'OUT', help: 'the ONNX file to write (required; replaced atomically)' },
    {
      name: 'opset',
      type: 'int',
      arg: 'N',
      help: `ONNX opset, ${min} to ${max}`,
      defaultText: String(onnx.DEFAULT_OPSET),
    },
    {
      name: 'preprocess',
      type: 'string',
      choices: ['fold', 'metadata', 'none'],
      help: "the model file's preprocessing: in the graph, as JSON in the metadata, or left out",
      defaultText: 'fold',
    },
    {
      name: 'input-shape',
      type: 'numbers',
      min: 1,
      arg: 'D,...',
      help: "one sample's shape without the batch (1,8,8 before a Flatten)",
      defaultText: "the first layer's inputs",
    },
    { name: 'json', type: 'boolean', help: 'one JSON line' },
  ],
  examples: [
    'nodegrad export --model model.safetensors --onnx model.onnx',
    'nodegrad export --model model.safetensors --onnx model.onnx --preprocess metadata --opset 13',
  ],
};

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  const file = o.model as string | undefined;
  const target = o.onnx as string | undefined;
  if (file === undefined) throw new UsageError('missing --model FILE', 'export');
  if (target === undefined) throw new UsageError('missing --onnx OUT.onnx', 'export');
  const shape = o['input-shape'] as number[] | undefined;
  if (shape?.some((d) => !Number.isInteger(d)))
    throw new UsageError(`--input-shape takes whole numbers, got ${shape.join(',')}`, 'export');
  const opset = (o.opset as number | undefined) ?? onnx.DEFAULT_OPSET;
  if (opset < min || opset > max)
    throw new UsageError(`--opset ${opset} is not supported: nodegrad exports ONNX opsets ${min} to ${max}`, 'export');
  requireFile(file, 'the --model file');
  const model = loadModel(file);
  const preprocess = (o.preprocess as onnx.PreprocessMode | undefined) ?? 'fold';
  onnx.exportModel(model, target, { opset, preprocess, inputShape: shape });
  const pre = model.preprocessor === undefined ? 'none' : preprocess;
  if (o.json === true) {
    out.json({ event: 'export', model: file, onnx: target, opset, preprocess: pre });
  } else {
    const how =
      pre === 'fold'
        ? "preprocessing folded in: the input is in the data set's units"
        : pre === 'metadata'
          ? 'preprocessing in the metadata (nodegrad.preprocess): apply it to the input first'
          : 'no preprocessing';
    out.line(`wrote ${target} (ONNX opset ${opset}, ${describeModel(model)}, batch dimension 'batch'; ${how})`);
  }
  return 0;
}
