/**
 * ONNX export: a module tree -> one onnx.ModelProto, through the per-class exporters
 * (registry.ts, exporters.ts). The graph takes `input` of shape [batch, ...inputShape], the
 * batch dimension symbolic, and gives `output`; parameters become initializers under their
 * state-dict names ('0.weight'), nodes are named after the module path ('/0/Gemm'), as
 * torch.onnx.export names them.
 *
 * Shapes are measured, not derived: before a module's exporter runs, the module runs forward
 * (eval mode, no grad) on one zero sample of its input's shape. That also checks inputShape
 * against the model with the layer's own message before anything is written.
 */
import { packageVersion as version } from '../backend/index.js';
import { Preprocessor } from '../data/preprocess.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Module } from '../nn/module.js';
import { firstInFeatures } from '../nn/summary.js';
import { checkChoice, checkOptions, optionKeys, quote } from '../options.js';
import { noGrad, zeros } from '../tensor/index.js';
import './exporters.js';
import { ATTRIBUTE_TYPE, FLOAT, encodeModel, rawFloats } from './proto.js';
import {
  type OnnxAttribute,
  type OnnxExportContext,
  type OnnxValue,
  exportableClasses,
  exporterFor,
} from './registry.js';

/**
 * The opsets nodegrad exports to. 13 is the floor because the ops layers need took their
 * current form there (Squeeze/Unsqueeze/Reduce* axes as inputs, Dropout, Softmax on one axis);
 * every maintained runtime reads it. 17 is the ceiling because it is the newest that Debian's
 * ONNX checker (1.12), which CI runs on every exported file, knows (and LayerNormalization's
 * first opset).
 */
export const SUPPORTED_OPSETS: {
  /** The oldest opset exported. */
  readonly min: number;
  /** The newest opset exported. */
  readonly max: number;
} = Object.freeze({ min: 13, max: 17 });

/** The opset exported when none is asked for: the newest supported. */
export const DEFAULT_OPSET = 17;

/** What happens to the preprocessing a model file recorded (`model.preprocessor`, from loadModel). */
export type PreprocessMode = 'fold' | 'metadata' | 'none';
const PREPROCESS_MODES: readonly PreprocessMode[] = ['fold', 'metadata', 'none'];

/** Options of onnx.exportModel() and onnx.toBytes(). */
export interface OnnxExportOptions {
  /**
   * One sample's shape, without the batch dimension ([1, 8, 8] for an image, [64] for
   * features). Default: the inFeatures of the model's first Linear.
   */
  inputShape?: readonly number[];
  /** The ONNX opset, SUPPORTED_OPSETS.min to .max. @defaultValue 17 */
  opset?: number;
  /**
   * The model's preprocessing (`model.preprocessor`, which loadModel() attaches): 'fold' puts
   * it in the graph (x * inputScale - mean) / std, so the model takes values in the data
   * set's own units, as `nodegrad predict` does; 'metadata' leaves the graph taking the
   * model's inputs and writes the preprocessing as JSON into the metadata
   * (`nodegrad.preprocess`); 'none' does neither. 'fold' is the default because a deployed
   * model that carries its preprocessing cannot be fed unstandardised data by mistake.
   * @defaultValue 'fold'
   */
  preprocess?: PreprocessMode;
}
export const EXPORT_KEYS = optionKeys<OnnxExportOptions>()('inputShape', 'opset', 'preprocess');

/** The model with the preprocessing loadModel() attaches, when it has one. */
type WithPreprocessor = Module & { preprocessor?: unknown };

/**
 * Writes `model` to `file` as an ONNX model (see toBytes for what it holds). The file is
 * replaced atomically: a failed export, a bad option or an unwritable path leave no file, or
 * the previous one untouched.
 */
export function exportModel(model: Module, file: string, options: OnnxExportOptions = {}): void {
  if (typeof file !== 'string' || file === '')
    throw new TypeError(`onnx.exportModel: file must be a non-empty string, got ${quote(file)}`);
  const bytes = build('onnx.exportModel', model, options);
  writeFileAtomic(file, bytes);
}

/**
 * The ONNX model for `model` as bytes (an onnx.ModelProto): graph input `input` of shape
 * [batch, ...inputShape] (float32), output `output`, parameters as initializers under their
 * state-dict names, and metadata_props `nodegrad.*` (architecture, input units, task, class
 * names, preprocessing). Every module in the tree needs an exporter (registerExporter).
 */
export function toBytes(model: Module, options: OnnxExportOptions = {}): Uint8Array {
  return build('onnx.toBytes', model, options);
}

function build(owner: string, model: Module, options: OnnxExportOptions): Uint8Array {
  checkOptions(owner, options, EXPORT_KEYS);
  if (!(model instanceof Module)) throw new TypeError(`${owner}: model must be an nn.Module, got ${quote(model)}`);
  const opset = checkOpset(owner, options.opset ?? DEFAULT_OPSET);
  const mode = checkChoice(owner, 'preprocess', options.preprocess ?? 'fold', PREPROCESS_MODES);
  const pre = (model as WithPreprocessor).preprocessor;
  if (pre !== undefined && !(pre instanceof Preprocessor))
    throw new TypeError(`${owner}: model.preprocessor must be a Preprocessor, got ${quote(pre)}`);
  const inputShape = checkInputShape(owner, options.inputShape ?? firstInFeatures(model) ?? noInputShape(owner));
  if (pre !== undefined && mode !== 'none' && product(inputShape) !== pre.features) {
    throw new RangeError(
      `${owner}: the preprocessing is for ${pre.features} features a sample, inputShape [${inputShape.join(', ')}] has ${product(inputShape)}`,
    );
  }

  const training = trainingFlags(model);
  model.eval();
  try {
    const g = new GraphBuilder(owner, opset);
    let x: OnnxValue = { name: 'input', shape: inputShape };
    if (pre !== undefined && mode === 'fold') x = { name: foldPreprocessing(g, pre, x), shape: inputShape };
    const y = g.emit(model, x, '');
    g.nameOutput(y.name);
    return encodeModel({
      ir_version: opset <= 14 ? 7 : 8, // the IR version of the ONNX release that introduced the opset
      opset_import: [{ domain: '', version: opset }],
      producer_name: 'nodegrad',
      producer_version: version(),
      doc_string: `${model.constructor.name} exported by nodegrad ${version()}`,
      graph: {
        name: 'nodegrad',
        node: g.nodes,
        initializer: g.initializers,
        input: [valueInfo('input', inputShape, inputDoc(pre, mode))],
        output: [valueInfo('output', y.shape, 'the model output, one row a sample')],
      },
      metadata_props: Object.entries(metadata(model, pre, mode)).map(([key, value]) => ({ key, value })),
    });
  } finally {
    for (const [m, flag] of training) m.training = flag;
  }
}

function checkOpset(owner: string, opset: unknown): number {
  const { min, max } = SUPPORTED_OPSETS;
  if (typeof opset !== 'number') throw new TypeError(`${owner}: opset must be an integer, got ${quote(opset)}`);
  if (!Number.isInteger(opset) || opset < min || opset > max) {
    throw new RangeError(
      `${owner}: opset ${opset} is not supported: nodegrad exports opsets ${min} to ${max} (default ${DEFAULT_OPSET})`,
    );
  }
  return opset;
}

function checkInputShape(owner: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new TypeError(
      `${owner}: inputShape must be an array of integers >= 1 (one sample's shape, without the batch), got ${quote(shape)}`,
    );
  }
  return [...shape];
}

function noInputShape(owner: string): never {
  throw new TypeError(
    `${owner}: pass options.inputShape (one sample's shape, e.g. [1, 28, 28]): the model has no Linear to take it from`,
  );
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function trainingFlags(root: Module): [Module, boolean][] {
  const out: [Module, boolean][] = [];
  const walk = (m: Module): void => {
    out.push([m, m.training]);
    for (const c of m.children()) walk(c);
  };
  walk(root);
  return out;
}

/** The output shape (one sample's) of `m` on one zero sample of `shape`; its own error when it refuses the shape. */
function measure(owner: string, m: Module, shape: readonly number[], where: string): number[] {
  try {
    return noGrad(() => m.forward(zeros([1, ...shape]))).shape.slice(1);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new RangeError(`${owner}: ${where} does not take inputs of shape [N, ${shape.join(', ')}]: ${msg}`);
  }
}

/** (x * inputScale - mean) / std as nodes on the graph input, in the order nodegrad applies them. */
function foldPreprocessing(g: GraphBuilder, pre: Preprocessor, x: OnnxValue): string {
  const ctx = g.context('preprocess.');
  let y = x.name;
  if (pre.inputScale !== 1) y = ctx.node('Mul', [y, ctx.constant('inputScale', Float32Array.of(pre.inputScale), [])]);
  if (pre.standardizer !== undefined) {
    // shaped like one sample, so a [C, H, W] input broadcasts against the flat per-feature values
    y = ctx.node('Sub', [y, ctx.constant('mean', pre.standardizer.mean, x.shape)]);
    y = ctx.node('Div', [y, ctx.constant('std', pre.standardizer.std, x.shape)]);
  }
  return y;
}

function inputDoc(pre: Preprocessor | undefined, mode: PreprocessMode): string {
  if (pre === undefined || mode === 'none') return "the model's inputs, one row a sample";
  if (mode === 'fold')
    return "values in the data set's own units (as `nodegrad predict` reads them); the preprocessing is in the graph";
  return "the model's inputs: apply nodegrad.preprocess from the metadata first";
}

function metadata(model: Module, pre: Preprocessor | undefined, mode: PreprocessMode): Record<string, string> {
  const out: Record<string, string> = { 'nodegrad.architecture': JSON.stringify(model.spec()) };
  // 'units': the data set's values, preprocessing in the graph; 'model-inputs': what forward() takes
  out['nodegrad.input'] = pre !== undefined && mode === 'fold' ? 'units' : 'model-inputs';
  if (pre !== undefined) {
    out['nodegrad.task'] = pre.task;
    if (pre.classNames !== undefined) out['nodegrad.classNames'] = JSON.stringify(pre.classNames);
    if (mode === 'metadata') out['nodegrad.preprocess'] = JSON.stringify(pre.toJSON());
  }
  return out;
}

function valueInfo(name: string, shape: readonly number[], doc: string): Record<string, unknown> {
  return {
    name,
    doc_string: doc,
    type: {
      tensor_type: {
        elem_type: FLOAT,
        shape: { dim: [{ dim_param: 'batch' }, ...shape.map((d) => ({ dim_value: d }))] },
      },
    },
  };
}

interface NodeProto {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

/** The nodes and initializers of one graph, with the names taken so far. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  private readonly names = new Set<string>(['input', 'output']);
  private readonly tensorNames = new Map<Float32Array, string>();

  constructor(
    /** The API function the errors name. */
    private readonly owner: string,
    readonly opset: number,
  ) {}

  /** Exports `m` (registered under `prefix`) on `x`: its exporter, with its output shape measured first. */
  emit(m: Module, x: OnnxValue, prefix: string): OnnxValue {
    const where = prefix === '' ? 'the model' : `module ${prefix.slice(0, -1)}`;
    const exporter = exporterFor(m);
    if (exporter === undefined) {
      throw new TypeError(
        `${this.owner}: ${where} (${m.describe()}) is a ${m.constructor.name}, which has no ONNX exporter; ` +
          `nodegrad exports ${exportableClasses().join(', ')} (add one with onnx.registerExporter)`,
      );
    }
    const shape = measure(this.owner, m, x.shape, where);
    const name = exporter(m, x, this.context(prefix));
    if (typeof name !== 'string' || !this.names.has(name))
      throw new TypeError(
        `${this.owner}: the exporter of ${m.constructor.name} returned ${quote(name)}, not a value name`,
      );
    return { name, shape };
  }

  context(prefix: string): OnnxExportContext {
    const path = prefix === '' ? '' : `/${prefix.slice(0, -1).split('.').join('/')}`;
    return {
      opset: this.opset,
      prefix,
      weight: (name, t) => {
        const known = this.tensorNames.get(t.data);
        if (known !== undefined) return known;
        const full = this.initializer(prefix + name, t.data, t.shape);
        this.tensorNames.set(t.data, full);
        return full;
      },
      constant: (name, data, shape) => this.initializer(prefix + name, data, shape),
      node: (opType, inputs, attributes = {}) => {
        const name = this.unique(`${path}/${opType}`);
        const output = `${name}_output_0`;
        this.names.add(output);
        this.nodes.push({
          name,
          op_type: opType,
          input: [...inputs],
          output: [output],
          attribute: Object.entries(attributes).map(([k, v]) => attribute(this.owner, k, v)),
        });
        return output;
      },
      module: (name, child, input) => this.emit(child, input, `${prefix}${name}.`),
    };
  }

  /**
   * Makes `value` the graph's output `output`: renames the node output that holds it, or, when no
   * node makes it (the graph input itself, in a model of Dropouts), copies it through an Identity.
   */
  nameOutput(value: string): void {
    if (!this.nodes.some((n) => n.output.includes(value))) {
      this.nodes.push({
        name: this.unique('/Identity'),
        op_type: 'Identity',
        input: [value],
        output: ['output'],
        attribute: [],
      });
      return;
    }
    for (const n of this.nodes) {
      n.output = n.output.map((o) => (o === value ? 'output' : o));
      n.input = n.input.map((i) => (i === value ? 'output' : i));
    }
  }

  private initializer(wanted: string, data: Float32Array, shape: readonly number[]): string {
    if (data.length !== product(shape))
      throw new RangeError(
        `${this.owner}: initializer '${wanted}' has ${data.length} values for shape [${shape.join(', ')}]`,
      );
    const name = this.unique(wanted);
    this.initializers.push({ name, data_type: FLOAT, dims: [...shape], raw_data: rawFloats(data) });
    return name;
  }

  private unique(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }
}

function attribute(owner: string, name: string, v: OnnxAttribute): Record<string, unknown> {
  const [field, value] = Object.entries(v)[0] as [keyof typeof ATTRIBUTE_TYPE, unknown];
  if (!(field in ATTRIBUTE_TYPE))
    throw new TypeError(`${owner}: attribute '${name}' must be one of { i | f | s | ints | floats }`);
  // AttributeProto.s is bytes: protobufjs would read a plain string as base64
  return { name, type: ATTRIBUTE_TYPE[field], [field]: field === 's' ? Buffer.from(String(value), 'utf8') : value };
}
