/**
 * The model across the thread boundary: the parent turns a ModelSource into a plain
 * description (spec and copied weights, or a module file to import); the worker builds the
 * Module from it.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Module, moduleFromSpec, type ModuleSpec } from '../nn/index.js';
import { describe, type WireModel } from './protocol.js';
import { MODULE_FILE_SOURCE_KEYS, SPEC_SOURCE_KEYS, type ModelSource, type WeightRecords } from './types.js';
import { checkOptions } from '../options.js';

/** The parent's side: what to send (weights are copied, so they can be transferred). */
export function toWireModel(source: ModelSource): WireModel {
  if (source === null || typeof source !== 'object')
    throw new TypeError(`model must be { spec }, { modulePath } or a Module, got ${describe(source)}`);
  if (typeof (source as Module).namedParameters === 'function' && typeof (source as Module).spec === 'function') {
    const m = source as Module;
    return { kind: 'spec', spec: m.spec(), stateDict: copyWeights(m.stateDict()) };
  }
  if ('modulePath' in source) {
    checkOptions('fitInWorker model', source, MODULE_FILE_SOURCE_KEYS);
    if (typeof source.modulePath !== 'string' || source.modulePath === '')
      throw new TypeError('model.modulePath must be a non-empty string');
    const exportName = source.exportName ?? 'default';
    if (typeof exportName !== 'string') throw new TypeError('model.exportName must be a string');
    if (source.args !== undefined && !Array.isArray(source.args)) throw new TypeError('model.args must be an array');
    return { kind: 'module', modulePath: path.resolve(source.modulePath), exportName, args: source.args ?? [] };
  }
  if ('spec' in source) {
    checkOptions('fitInWorker model', source, SPEC_SOURCE_KEYS);
    const { spec, stateDict: sd } = source as { spec: ModuleSpec; stateDict?: WeightRecords };
    if (sd !== undefined && (sd === null || typeof sd !== 'object'))
      throw new TypeError('model.stateDict must be an object of { shape, data }');
    return { kind: 'spec', spec, ...(sd !== undefined ? { stateDict: copyWeights(sd) } : {}) };
  }
  throw new TypeError('model must be { spec, stateDict? }, { modulePath, exportName?, args? } or a Module');
}

function copyWeights(sd: WeightRecords): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(sd)) {
    if (t === null || typeof t !== 'object' || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      throw new TypeError(`model.stateDict['${name}'] must be { shape, data: Float32Array } or a Tensor`);
    }
    out[name] = { shape: [...t.shape], data: t.data.slice() };
  }
  return out;
}

function isModule(m: unknown): m is Module {
  if (m instanceof Module) return true;
  // another copy of nodegrad (the user's file required a different install): duck-type it
  const o = m as Partial<Module> | null;
  return (
    o !== null &&
    typeof o === 'object' &&
    typeof o.forward === 'function' &&
    typeof o.namedParameters === 'function' &&
    typeof o.parameters === 'function' &&
    typeof o.train === 'function'
  );
}

/** The worker's side: the Module the description names. */
export async function buildModel(m: WireModel): Promise<Module> {
  if (m.kind === 'spec') {
    const model = moduleFromSpec(m.spec);
    if (m.stateDict !== undefined) model.loadStateDict(m.stateDict);
    return model;
  }
  let ns: Record<string, unknown>;
  try {
    ns = (await import(pathToFileURL(m.modulePath).href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error;
    e.message = `model.modulePath ${m.modulePath}: ${e.message}`;
    throw e;
  }
  let exported = ns[m.exportName];
  // a CommonJS file's module.exports is the namespace's default
  if (exported === undefined && m.exportName !== 'default') {
    const cjs = ns.default as Record<string, unknown> | undefined;
    if (cjs !== null && typeof cjs === 'object') exported = cjs[m.exportName];
  }
  if (exported === undefined) {
    throw new TypeError(
      `model.modulePath ${m.modulePath} has no export '${m.exportName}' (exports: ${Object.keys(ns).join(', ') || 'none'})`,
    );
  }
  let model: unknown = exported;
  if (typeof exported === 'function') {
    const isClass = /^class\b/.test(Function.prototype.toString.call(exported));
    const ctor = exported as new (...a: unknown[]) => unknown;
    model = isClass ? new ctor(...m.args) : await (exported as (...a: unknown[]) => unknown)(...m.args);
  }
  if (!isModule(model)) {
    throw new TypeError(
      `model.modulePath ${m.modulePath}: export '${m.exportName}' must be an nn.Module, a function returning one or a Module class`,
    );
  }
  return model;
}

/** The model's spec, or null for a module that has none (custom layers). */
export function specOf(model: Module): ModuleSpec | null {
  try {
    return model.spec();
  } catch {
    return null;
  }
}
