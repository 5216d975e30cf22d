// ONNX export: every exported model runs in onnxruntime-node with nodegrad's outputs, within
// 1e-5 absolute (outputs here are O(1); onnxruntime and nodegrad sum the same products in
// different orders, a few float32 ulps apart), for two batch sizes through the one dynamic
// batch dimension. Then the file's structure (names, metadata, opsets) and the refusals.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ng from '../lib/index.js';
import { Preprocessor } from '../lib/data/preprocess.js';
import { decodeModel } from '../lib/onnx/proto.js';
import { exportableClasses } from '../lib/onnx/registry.js';
import { CASES, exportCase, type OnnxCase } from './helpers/onnx-cases.js';

const TOL = 1e-5;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-onnx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function randomInput(n: number, shape: readonly number[], seed: number, scale = 1): Float32Array {
  const rng = new ng.Rng(seed);
  const size = n * shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => rng.normal() * scale);
}

function randomIndices(n: number, shape: readonly number[], seed: number, below: number): Float32Array {
  const rng = new ng.Rng(seed);
  const size = n * shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => Math.min(below - 1, Math.floor(rng.uniform() * below)));
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: readonly number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', x, [...shape]) });
  return out.output;
}

/** nodegrad's outputs for what the ONNX graph takes as input, applying what the graph folded in. */
function reference(c: OnnxCase, x: Float32Array, n: number): ng.Tensor {
  const model = c.build();
  const pre = model.preprocessor;
  const fold = pre !== undefined && (c.options?.preprocess ?? 'fold') === 'fold';
  const features = fold ? pre.transform(pre.fromUnits(x)) : x;
  model.eval();
  return ng.noGrad(() => model.forward(new ng.Tensor(features, [n, ...c.inputShape])));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function metadataOf(bytes: Uint8Array): Record<string, string> {
  const props = (decodeModel(bytes).metadata_props ?? []) as { key: string; value: string }[];
  return Object.fromEntries(props.map((p) => [p.key, p.value]));
}

describe('exported models match nodegrad in onnxruntime', () => {
  for (const c of CASES) {
    it(`${c.name}: outputs within ${TOL} for batches of 5 and 1`, async () => {
      const bytes = exportCase(c);
      for (const n of [5, 1]) {
        // units for a folded 1/16 or 1/255 scale are larger numbers
        const x =
          c.indices !== undefined
            ? randomIndices(n, c.inputShape, 100 + n, c.indices)
            : randomInput(n, c.inputShape, 100 + n, c.build().preprocessor ? 20 : 1);
        const want = reference(c, x, n);
        const got = await runOrt(bytes, x, [n, ...c.inputShape]);
        expect(got.dims).toEqual(want.shape);
        expect(maxAbsDiff(got.data as Float32Array, want.data)).toBeLessThanOrEqual(TOL);
      }
    });
  }

  it('a user-registered exporter exports a module class of the user', async () => {
    class Square extends ng.nn.Module {
      forward(x: ng.Tensor): ng.Tensor {
        return ng.mul(x, x);
      }
      spec(): ng.nn.ModuleSpec {
        return { type: 'ReLU' }; // not rebuilt from a spec in this test
      }
    }
    ng.onnx.registerExporter(Square, (_m, x, ctx) => ctx.node('Mul', [x.name, x.name]));
    ng.manualSeed(3);
    const model = new ng.nn.Sequential(new ng.nn.Linear(4, 3), new Square());
    const x = randomInput(2, [4], 1);
    const got = await runOrt(ng.onnx.toBytes(model), x, [2, 4]);
    const want = ng.noGrad(() => model.forward(new ng.Tensor(x, [2, 4])));
    expect(maxAbsDiff(got.data as Float32Array, want.data)).toBeLessThanOrEqual(TOL);
  });
});

describe('coverage', () => {
  it('every module class nodegrad exports in ng.nn has an ONNX exporter', () => {
    const classes = Object.values(ng.nn).filter(
      (v): v is typeof ng.nn.Module => typeof v === 'function' && v.prototype instanceof ng.nn.Module,
    );
    expect(classes.length).toBeGreaterThanOrEqual(7);
    expect(classes.map((c) => c.name).filter((n) => !exportableClasses().includes(n))).toEqual([]);
  });
});

describe('what the file holds', () => {
  it("initializers are the state dict under PyTorch's names, with its values", () => {
    const c = CASES.find((k) => k.name === 'nested')!;
    const graph = decodeModel(exportCase(c)).graph as { initializer: { name: string; raw_data: Buffer }[] };
    const state = c.build().stateDict();
    expect(graph.initializer.map((t) => t.name)).toEqual(Object.keys(state));
    expect(Object.keys(state)).toEqual(['0.weight', '0.bias', '1.1.0.weight', '1.1.0.bias', '2.weight', '2.bias']);
    for (const t of graph.initializer) {
      const raw = t.raw_data;
      expect(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length))).toEqual(
        state[t.name].data,
      );
    }
  });

  it("nodes are named after the module path, as torch.onnx names them; the last output is 'output'", () => {
    const graph = decodeModel(exportCase(CASES.find((k) => k.name === 'nested')!)).graph as {
      node: { name: string; op_type: string; output: string[] }[];
    };
    expect(graph.node.map((n) => `${n.name}:${n.op_type}`)).toEqual([
      '/0/Gemm:Gemm',
      '/1/0/Tanh:Tanh',
      '/1/1/0/Gemm:Gemm',
      '/1/1/1/Relu:Relu',
      '/2/Gemm:Gemm',
    ]);
    expect(graph.node.at(-1)!.output).toEqual(['output']);
  });

  it("the batch dimension is the symbolic 'batch' on input and output", () => {
    const graph = decodeModel(exportCase(CASES.find((k) => k.name === 'flatten-8x8')!)).graph as Record<
      string,
      { type: { tensor_type: { shape: { dim: Record<string, unknown>[] } } } }[]
    >;
    expect(graph.input[0].type.tensor_type.shape.dim).toEqual([
      { dim_param: 'batch' },
      { dim_value: 1 },
      { dim_value: 8 },
      { dim_value: 8 },
    ]);
    expect(graph.output[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 10 }]);
  });

  it('a parameter shared by two layers is one initializer', () => {
    const shared = new ng.nn.Linear(4, 4);
    const graph = decodeModel(ng.onnx.toBytes(new ng.nn.Sequential(shared, new ng.nn.Tanh(), shared))).graph as {
      initializer: { name: string }[];
      node: { input: string[] }[];
    };
    expect(graph.initializer.map((t) => t.name)).toEqual(['0.weight', '0.bias']);
    expect(graph.node[2].input.slice(1)).toEqual(['0.weight', '0.bias']);
  });

  it('opset and IR version: the opset asked for, the IR version of the ONNX release that brought it', () => {
    const model = ng.nn.mlp(3, [], 2);
    for (const [opset, ir] of [
      [13, 7],
      [14, 7],
      [15, 8],
      [16, 8],
      [17, 8],
    ]) {
      const m = decodeModel(ng.onnx.toBytes(model, { opset }));
      expect(m.opset_import).toEqual([{ domain: '', version: opset }]);
      expect(m.ir_version).toBe(ir);
    }
    expect(decodeModel(ng.onnx.toBytes(model)).opset_import).toEqual([{ domain: '', version: ng.onnx.DEFAULT_OPSET }]);
  });

  it("folding: the graph takes the data set's units; the metadata says so and names the classes", () => {
    const c = CASES.find((k) => k.name === 'fold-preprocessing')!;
    const bytes = exportCase(c);
    const meta = metadataOf(bytes);
    expect(meta['nodegrad.input']).toBe('units');
    expect(meta['nodegrad.task']).toBe('classification');
    expect(JSON.parse(meta['nodegrad.classNames'])).toEqual(['a', 'b', 'c']);
    expect(meta['nodegrad.preprocess']).toBeUndefined(); // in the graph, so not to be applied twice
    expect(JSON.parse(meta['nodegrad.architecture'])).toEqual(c.build().spec());
    const ops = (decodeModel(bytes).graph as { node: { name: string }[] }).node.map((n) => n.name);
    expect(ops.slice(0, 3)).toEqual(['/preprocess/Mul', '/preprocess/Sub', '/preprocess/Div']);
  });

  it("preprocess: 'metadata' writes the model file's preprocessing JSON and leaves it out of the graph", () => {
    const c = CASES.find((k) => k.name === 'metadata-preprocessing')!;
    const bytes = exportCase(c);
    const meta = metadataOf(bytes);
    expect(meta['nodegrad.input']).toBe('model-inputs');
    const pre = c.build().preprocessor!;
    expect(Preprocessor.fromJSON(JSON.parse(meta['nodegrad.preprocess'])).toJSON()).toEqual(pre.toJSON());
    const ops = (decodeModel(bytes).graph as { node: { op_type: string }[] }).node.map((n) => n.op_type);
    expect(ops).toEqual(['Gemm', 'Relu', 'Gemm']);
  });

  it("preprocess: 'none' keeps the preprocessing out of graph and metadata, class names stay", () => {
    const c = CASES.find((k) => k.name === 'fold-preprocessing')!;
    const meta = metadataOf(ng.onnx.toBytes(c.build(), { preprocess: 'none' }));
    expect(meta['nodegrad.input']).toBe('model-inputs');
    expect(meta['nodegrad.preprocess']).toBeUndefined();
    expect(JSON.parse(meta['nodegrad.classNames'])).toEqual(['a', 'b', 'c']);
  });

  it('export leaves training flags as they were', () => {
    const c = CASES.find((k) => k.name === 'dropout')!;
    const model = c.build();
    (model as ng.nn.Sequential).layers[1].eval();
    const before = [model.training, ...model.children().map((m) => m.training)];
    ng.onnx.toBytes(model);
    expect([model.training, ...model.children().map((m) => m.training)]).toEqual(before);
    expect(before).toEqual([true, true, false, true, true, true]);
  });
});

describe('refusals', () => {
  it('layers whose arithmetic ONNX cannot express are refused, naming the layer and why', () => {
    const { Sequential, AdaptiveAvgPool2d, AvgPool2d, Embedding, BatchNorm1d } = ng.nn;
    expect(() => ng.onnx.toBytes(new Sequential(new AdaptiveAvgPool2d([2, 3])), { inputShape: [1, 6, 7] })).toThrow(
      /AdaptiveAvgPool2d from 6x7 to 2x3 has uneven windows/,
    );
    expect(() => ng.onnx.toBytes(new AvgPool2d(2, { divisorOverride: 3 }), { inputShape: [1, 4, 4] })).toThrow(
      /divisorOverride has no ONNX form/,
    );
    expect(() => ng.onnx.toBytes(new Embedding(5, 2, { maxNorm: 1 }), { inputShape: [3] })).toThrow(
      /maxNorm has no ONNX form/,
    );
    expect(() => ng.onnx.toBytes(new BatchNorm1d(3, { trackRunningStats: false }), { inputShape: [3, 4] })).toThrow(
      /without running statistics/,
    );
  });

  class Custom extends ng.nn.Module {
    forward(x: ng.Tensor): ng.Tensor {
      return x;
    }
    spec(): ng.nn.ModuleSpec {
      return { type: 'ReLU' };
    }
  }

  it('a module without an exporter, named by its path and class', () => {
    const model = new ng.nn.Sequential(new ng.nn.Linear(4, 4), new ng.nn.Sequential(new Custom()));
    expect(() => ng.onnx.toBytes(model)).toThrow(
      /module 1\.0 \(Custom\) is a Custom, which has no ONNX exporter; nodegrad exports Linear, .*Sequential/,
    );
  });

  it("a subclass of an exportable layer is refused, since its forward may differ from its parent's", () => {
    class MyLinear extends ng.nn.Linear {}
    expect(() => ng.onnx.toBytes(new MyLinear(3, 2))).toThrow(/the model \(Linear\(3 -> 2\)\) is a MyLinear/);
  });

  it('opsets outside 13..17, and non-integers, with the supported range in the message', () => {
    const model = ng.nn.mlp(3, [], 2);
    for (const opset of [12, 18, 16.5]) {
      expect(() => ng.onnx.toBytes(model, { opset })).toThrow(
        new RangeError(`onnx.toBytes: opset ${opset} is not supported: nodegrad exports opsets 13 to 17 (default 17)`),
      );
    }
    expect(() => ng.onnx.toBytes(model, { opset: '17' as unknown as number })).toThrow(TypeError);
  });

  it("an input shape the model does not take, with the layer's own message", () => {
    expect(() => ng.onnx.toBytes(ng.nn.mlp(3, [], 2), { inputShape: [4] })).toThrow(
      /the model does not take inputs of shape \[N, 4\]: 0: Linear\(3 -> 2\) got an input with 4 features/,
    );
    expect(() => ng.onnx.toBytes(ng.nn.mlp(3, [], 2), { inputShape: [0] })).toThrow(/inputShape must be an array/);
    expect(() => ng.onnx.toBytes(new ng.nn.Sequential(new ng.nn.Tanh()))).toThrow(/pass options.inputShape/);
  });

  it('options: unknown keys, bad preprocess modes, a preprocessing for other features', () => {
    const model = ng.nn.mlp(3, [], 2);
    expect(() => ng.onnx.toBytes(model, { input_shape: [3] } as never)).toThrow(/did you mean 'inputShape'/);
    expect(() => ng.onnx.toBytes(model, { preprocess: 'metdata' as never })).toThrow(/did you mean 'metadata'/);
    const withPre = Object.assign(ng.nn.mlp(3, [], 2), { preprocessor: new Preprocessor({ features: 4 }) });
    expect(() => ng.onnx.toBytes(withPre)).toThrow(/preprocessing is for 4 features a sample, inputShape \[3\] has 3/);
    expect(() => ng.onnx.toBytes({} as ng.nn.Module)).toThrow(/model must be an nn.Module/);
  });

  it('exportModel writes the file; a failed export or an unwritable path leaves no file, an old one untouched', () => {
    const file = path.join(tmp, 'model.onnx');
    const model = ng.nn.mlp(3, [4], 2);
    ng.onnx.exportModel(model, file);
    const written = fs.readFileSync(file);
    expect(written.equals(Buffer.from(ng.onnx.toBytes(model)))).toBe(true);
    expect(() => ng.onnx.exportModel(model, file, { opset: 18 })).toThrow(/opset 18/);
    expect(() => ng.onnx.exportModel(new ng.nn.Sequential(new Custom()), file, { inputShape: [3] })).toThrow(
      /no ONNX exporter/,
    );
    expect(fs.readFileSync(file).equals(written)).toBe(true);
    const fresh = path.join(tmp, 'never.onnx');
    expect(() => ng.onnx.exportModel(model, fresh, { opset: 12 })).toThrow(/opset 12/);
    expect(fs.existsSync(fresh)).toBe(false);
    const missingDir = path.join(tmp, 'no-such-dir', 'model.onnx');
    expect(() => ng.onnx.exportModel(model, missingDir)).toThrow(/model\.onnx: cannot write: ENOENT/);
    expect(fs.readdirSync(tmp)).toEqual(['model.onnx']);
  });
});
