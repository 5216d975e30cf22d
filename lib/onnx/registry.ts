/**
 * Which function turns a module of each class into ONNX nodes. One small exporter a class,
 * looked up by the module's exact class: a subclass may change forward(), so it is refused
 * until it registers an exporter of its own rather than exported as its parent.
 */
import { Module } from '../nn/module.js';

/** A value in the graph being built. */
export interface OnnxValue {
  /** Its name in the graph. */
  readonly name: string;
  /** One sample's shape: the batch dimension, dynamic in the exported model, is not in it. */
  readonly shape: readonly number[];
}

/**
 * A node attribute, tagged with its AttributeProto field, since a JavaScript number cannot say
 * whether it is an int or a float: `{ i: 1 }`, `{ f: 1 }`, `{ ints: [1, 1] }`, `{ floats: [] }`,
 * `{ s: 'NOTSET' }`.
 */
export type OnnxAttribute =
  | {
      /** An int (INT). */
      i: number;
    }
  | {
      /** A float (FLOAT). */
      f: number;
    }
  | {
      /** A string (STRING, written as UTF-8 bytes). */
      s: string;
    }
  | {
      /** A list of ints (INTS). */
      ints: readonly number[];
    }
  | {
      /** A list of floats (FLOATS). */
      floats: readonly number[];
    };

/** What an exporter adds to the graph through; one context a module, under its state-dict prefix. */
export interface OnnxExportContext {
  /** The opset the model is exported for (see SUPPORTED_OPSETS): an exporter picks its ops' versions by it. */
  readonly opset: number;
  /** The module's state-dict prefix: '' for the model itself, '0.' for a Sequential's first layer, '1.0.' below. */
  readonly prefix: string;
  /**
   * Adds a float32 initializer named `prefix + name`, the module's state-dict name for it
   * ('0.weight'), holding `tensor`'s values; returns that name. A tensor already added (a
   * shared parameter) returns its first name.
   */
  weight(name: string, tensor: { readonly shape: readonly number[]; readonly data: Float32Array }): string;
  /** Adds a float32 initializer for a value the exporter computes (not a state-dict entry), named under the module's node path; returns its name. */
  constant(name: string, data: Float32Array, shape: readonly number[]): string;
  /** Adds a node `opType(inputs)` of the default ONNX domain, named `/0/Gemm` after the module's path; returns its output's name. */
  node(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, OnnxAttribute>>): string;
  /** Exports `child`, registered under `name` in this module, on `input`; returns its output with its shape. */
  module(name: string, child: Module, input: OnnxValue): OnnxValue;
}

/**
 * Turns one module into nodes: given the module, its input and the context, it adds what it
 * computes and returns the name of its output (the exporter measures the output's shape by
 * running the module).
 */
export type OnnxExporter<M extends Module = Module> = (module: M, input: OnnxValue, ctx: OnnxExportContext) => string;

// biome-ignore lint/suspicious/noExplicitAny: a registry of constructors of any signature
type ModuleClass<M extends Module> = abstract new (...args: any[]) => M;

const exporters = new Map<ModuleClass<Module>, OnnxExporter>();

/**
 * Registers how modules of class `cls` (exactly that class, not its subclasses) are exported
 * to ONNX; replaces an earlier registration for the class. nodegrad's own layers are
 * registered in lib/onnx/exporters.ts; register your own module classes the same way.
 */
export function registerExporter<M extends Module>(
  // biome-ignore lint/suspicious/noExplicitAny: a constructor of any signature
  cls: abstract new (...args: any[]) => M,
  exporter: OnnxExporter<M>,
): void {
  if (typeof cls !== 'function' || !(cls.prototype instanceof Module))
    throw new TypeError('registerExporter: cls must be a subclass of nn.Module');
  if (typeof exporter !== 'function') throw new TypeError('registerExporter: exporter must be a function');
  exporters.set(cls, exporter as OnnxExporter);
}

/** The exporter registered for m's class, or undefined. */
export function exporterFor(m: Module): OnnxExporter | undefined {
  return exporters.get(m.constructor as ModuleClass<Module>);
}

/** The names of the classes that have an exporter, for messages. */
export function exportableClasses(): string[] {
  return [...exporters.keys()].map((c) => c.name);
}
