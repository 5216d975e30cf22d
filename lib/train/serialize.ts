/**
 * Saving models and checkpoints as safetensors.
 *
 * A model file holds the state dict under PyTorch's names (F32, little-endian), so
 * `torch.nn.Sequential(...).load_state_dict(safetensors.torch.load_file(path))` accepts it, and
 * `__metadata__` names the producer and the architecture (a ModuleSpec as JSON), so
 * `loadModel(path)` can rebuild the module without code.
 *
 * A checkpoint is a safetensors file too: its float buffers (model weights, optimizer moments)
 * are tensors, and everything else (epoch, RNG and loader state, scheduler, history) is JSON in
 * the metadata, where each buffer is replaced by a reference to its tensor. Both are written
 * atomically: an interrupted save leaves the previous file intact.
 */
import { Tensor } from '../tensor/index.js';
import { Module, moduleFromSpec, type ModuleSpec } from '../nn/index.js';
import { encodeSafetensors, loadSafetensors, type TensorData } from '../io/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { packageVersion } from '../backend/index.js';

const SPEC_KEY = 'nodegrad.architecture';
const CHECKPOINT_KEY = 'nodegrad.checkpoint';

/** Writes the module's parameters (and its architecture, when it has a spec) to `path`. */
export function save(module: Module, path: string, metadata: Record<string, string> = {}): void {
  const tensors = new Map<string, TensorData>();
  for (const [name, p] of module.namedParameters()) tensors.set(name, p);
  writeFileAtomic(path, encodeSafetensors(tensors, { format: 'pt', producer: `nodegrad ${packageVersion()}`, [SPEC_KEY]: JSON.stringify(module.spec()), ...metadata }));
}

/** The named tensors of a safetensors file (written by nodegrad or by PyTorch). */
export function load(path: string): Record<string, Tensor> {
  const { tensors } = loadSafetensors(path);
  const out: Record<string, Tensor> = Object.create(null); // so a tensor named __proto__ is kept
  for (const [name, t] of Object.entries(tensors)) out[name] = new Tensor(t.data, t.shape);
  return out;
}

/** Rebuilds a module saved by `save()`: the architecture from the metadata, then its weights. */
export function loadModel(path: string): Module {
  const { tensors, metadata } = loadSafetensors(path);
  const specText = metadata[SPEC_KEY];
  if (specText === undefined) {
    throw new Error(`${path}: no architecture in the metadata (not saved by nodegrad's save()); build the module yourself and use loadStateDict(load(path))`);
  }
  let spec: ModuleSpec;
  try {
    spec = JSON.parse(specText) as ModuleSpec;
  } catch {
    throw new Error(`${path}: the architecture in the metadata is not valid JSON`);
  }
  const module = moduleFromSpec(spec);
  try {
    module.loadStateDict(tensors);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return module;
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
  writeFileAtomic(path, encodeSafetensors(tensors, { format: 'nodegrad', producer: `nodegrad ${packageVersion()}`, [CHECKPOINT_KEY]: json, kind }));
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
  if (tree === null || typeof tree !== 'object') throw new Error(`${path}: corrupt checkpoint metadata (not an object)`);
  return tree;
}
