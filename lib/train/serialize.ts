/**
 * Saving models and checkpoints as safetensors.
 *
 * A model file holds the state dict under PyTorch's names (F32, little-endian), so
 * `torch.nn.Sequential(...).load_state_dict(safetensors.torch.load_file(path))` accepts it, and
 * `__metadata__` names the producer and the architecture (a ModuleSpec as JSON), so
 * `loadModel(path)` can rebuild the module without code; `nodegrad.preprocess` holds the
 * preprocessing (a Preprocessor as JSON) that turns raw features into the model's inputs.
 *
 * A checkpoint is a safetensors file too: its float buffers (model weights, optimizer moments)
 * are tensors, and everything else (epoch, RNG and loader state, scheduler, history) is JSON in
 * the metadata, where each buffer is replaced by a reference to its tensor. Both are written
 * atomically: an interrupted save leaves the previous file intact.
 */
import { Tensor, fmtShape } from '../tensor/index.js';
import { type Module, moduleFromSpec, specParameterShapes, specBufferShapes, type ModuleSpec } from '../nn/index.js';
import { Preprocessor } from '../data/preprocess.js';
import { encodeSafetensors, loadSafetensors, type TensorData } from '../io/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { packageVersion } from '../backend/index.js';
import { checkOptions, optionKeys } from '../options.js';

const SPEC_KEY = 'nodegrad.architecture';
const PREPROCESS_KEY = 'nodegrad.preprocess';
const CHECKPOINT_KEY = 'nodegrad.checkpoint';
/** Where `nodegrad train` kept the preprocessing before it moved into the library; still read. */
const LEGACY = { preprocess: 'nodegrad.cli.preprocess', classes: 'nodegrad.cli.classes' } as const;

/**
 * A module as loadModel() returns it: with the preprocessing its file recorded, which
 * evaluate(), predict() and predictClasses() apply to the features they are given.
 */
export type LoadedModel = Module & { preprocessor?: Preprocessor };

/** Options of save(). */
export interface SaveOptions {
  /** Stored with the weights, restored by loadModel(); default: the model's own `preprocessor`. */
  preprocess?: Preprocessor;
  /** Extra string entries for the safetensors metadata (default none). */
  metadata?: Record<string, string>;
}
export const SAVE_KEYS = optionKeys<SaveOptions>()('preprocess', 'metadata');

/** save()'s third argument was the metadata record before it took options; both are accepted. */
function saveOptions(arg: SaveOptions | Record<string, string>): SaveOptions {
  const values = Object.values(arg);
  if (values.length > 0 && values.every((v) => typeof v === 'string'))
    return { metadata: arg as Record<string, string> };
  checkOptions('save', arg, SAVE_KEYS);
  const o = arg as SaveOptions;
  if (o.preprocess !== undefined && !(o.preprocess instanceof Preprocessor))
    throw new TypeError('save: preprocess must be a Preprocessor');
  return o;
}

/**
 * Writes the module's state dict (parameters and persistent buffers), its architecture (when it has a spec) and its preprocessing
 * (`options.preprocess`, or the `preprocessor` a loaded model carries) to `path`.
 */
export function save(module: Module, path: string, options: SaveOptions | Record<string, string> = {}): void {
  const { preprocess = (module as LoadedModel).preprocessor, metadata = {} } = saveOptions(options);
  const tensors = new Map<string, TensorData>();
  const int64 = module.int64StateKeys();
  for (const [name, t] of Object.entries(module.stateDict())) {
    tensors.set(name, int64.has(name) ? { shape: t.shape, data: t.data, dtype: 'I64' } : t);
  }
  const meta: Record<string, string> = {
    format: 'pt',
    producer: `nodegrad ${packageVersion()}`,
    [SPEC_KEY]: JSON.stringify(module.spec()),
    ...metadata,
  };
  if (preprocess !== undefined) meta[PREPROCESS_KEY] = JSON.stringify(preprocess.toJSON());
  writeFileAtomic(path, encodeSafetensors(tensors, meta));
}

/** The named tensors of a safetensors file (written by nodegrad or by PyTorch). */
export function load(path: string): Record<string, Tensor> {
  const { tensors } = loadSafetensors(path);
  const out: Record<string, Tensor> = Object.create(null); // so a tensor named __proto__ is kept
  for (const [name, t] of Object.entries(tensors)) out[name] = new Tensor(t.data, t.shape);
  return out;
}

/**
 * Rebuilds a module saved by `save()`: the architecture from the metadata, then its weights,
 * with the preprocessing the file recorded as its `preprocessor` (undefined when it has none).
 * The preprocessing rides on the module rather than beside it so that one object goes to
 * predict() and evaluate(), and loadModel() keeps returning a Module.
 */
export function loadModel(path: string): LoadedModel {
  const { tensors, metadata } = loadSafetensors(path);
  const specText = metadata[SPEC_KEY];
  if (specText === undefined) {
    throw new Error(
      `${path}: no architecture in the metadata (not saved by nodegrad's save()); build the module yourself and use loadStateDict(load(path))`,
    );
  }
  let spec: ModuleSpec;
  try {
    spec = JSON.parse(specText) as ModuleSpec;
  } catch {
    throw new Error(`${path}: the architecture in the metadata is not valid JSON`);
  }
  const preprocessor = readPreprocessor(path, metadata);
  let module: LoadedModel;
  try {
    checkWeights(spec, tensors);
    module = moduleFromSpec(spec);
    module.loadStateDict(tensors);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  if (preprocessor !== undefined) {
    // an MLP's first layer says how many features it takes (a convolution's does not)
    const first = module.namedParameters()[0];
    if (first !== undefined && first[1].shape.length === 2 && first[1].shape[1] !== preprocessor.features) {
      throw new Error(
        `${path}: invalid preprocessing metadata: it is for ${preprocessor.features} features, the model's first layer (${first[0]}) takes ${first[1].shape[1]}`,
      );
    }
    module.preprocessor = preprocessor;
  }
  return module;
}

/** Compares the file's tensors with the parameters the architecture declares, before building it. */
function checkWeights(spec: ModuleSpec, tensors: Record<string, { shape: readonly number[] }>): void {
  const want = new Map([...specParameterShapes(spec), ...specBufferShapes(spec)]);
  const problems: string[] = [];
  const missing = [...want.keys()].filter((k) => !Object.hasOwn(tensors, k));
  const unexpected = Object.keys(tensors).filter((k) => !want.has(k));
  if (missing.length > 0) problems.push(`missing: ${missing.join(', ')}`);
  if (unexpected.length > 0) problems.push(`unexpected: ${unexpected.join(', ')}`);
  for (const [name, shape] of want) {
    const t = tensors[name];
    if (t !== undefined && (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i]))) {
      problems.push(
        `${name}: the file's shape ${fmtShape(t.shape)} does not match the architecture's ${fmtShape(shape)}`,
      );
    }
  }
  if (problems.length > 0) throw new RangeError(`the weights do not match the architecture: ${problems.join('; ')}`);
}

/** The preprocessing in a file's metadata (today's key, else the old CLI's), validated. */
function readPreprocessor(path: string, metadata: Record<string, string>): Preprocessor | undefined {
  const text = metadata[PREPROCESS_KEY];
  const legacy = metadata[LEGACY.preprocess];
  if (text === undefined && legacy === undefined) return undefined;
  try {
    if (text !== undefined) return Preprocessor.fromJSON(JSON.parse(text));
    const old = JSON.parse(legacy!) as { inputScale?: unknown; mean?: unknown[] } | null;
    const classes = metadata[LEGACY.classes];
    return Preprocessor.fromJSON({
      ...old,
      task: 'classification',
      features: Array.isArray(old?.mean) ? old.mean.length : undefined,
      classNames: classes === undefined ? undefined : JSON.parse(classes),
    });
  } catch (err) {
    throw new Error(`${path}: invalid preprocessing metadata (${(err as Error).message})`);
  }
}

// ---- checkpoints ----

/** A JSON tree whose leaves may be Float32Arrays. */
type Tree = unknown;

/**
 * Writes `state` (plain data: numbers, strings, arrays, objects, Float32Arrays) to `path`
 * atomically; Float32Arrays become tensors named by their place in the tree.
 */
export function saveTree(path: string, state: Record<string, Tree>, kind = 'checkpoint'): void {
  const tensors = new Map<string, TensorData>();
  const json = JSON.stringify(state, function (this: unknown, key: string, value: unknown) {
    if (value instanceof Float32Array) {
      const name = `t${tensors.size}.${key}`;
      tensors.set(name, { shape: [value.length], data: value });
      return { $tensor: name };
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
    return value;
  });
  writeFileAtomic(
    path,
    encodeSafetensors(tensors, {
      format: 'nodegrad',
      producer: `nodegrad ${packageVersion()}`,
      [CHECKPOINT_KEY]: json,
      kind,
    }),
  );
}

/** Reads what `saveTree` wrote; refuses other files with a message. */
export function loadTree(path: string): Record<string, Tree> {
  const { tensors, metadata } = loadSafetensors(path);
  const json = metadata[CHECKPOINT_KEY];
  if (json === undefined) throw new Error(`${path}: not a nodegrad checkpoint (no '${CHECKPOINT_KEY}' metadata)`);
  let tree: Record<string, Tree>;
  try {
    tree = JSON.parse(json, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const v = value as { $tensor?: unknown; $number?: unknown };
        if (typeof v.$tensor === 'string') {
          const t = tensors[v.$tensor];
          if (t === undefined) throw new Error(`missing tensor '${v.$tensor}'`);
          return t.data;
        }
        if (typeof v.$number === 'string') return Number(v.$number);
      }
      return value;
    }) as Record<string, Tree>;
  } catch (err) {
    throw new Error(`${path}: corrupt checkpoint metadata (${(err as Error).message})`);
  }
  if (tree === null || typeof tree !== 'object')
    throw new Error(`${path}: corrupt checkpoint metadata (not an object)`);
  return tree;
}
