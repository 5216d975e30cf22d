// ONNX files checked by ONNX's own checker (Debian's python3-onnx, in a child process), and
// `nodegrad export` through bin/ on a model `nodegrad train` made from digits.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import * as ng from '../lib/index.js';
import { decodeModel, encodeModel } from '../lib/onnx/proto.js';
import { cli } from './helpers/cli.js';
import { CASES, exportCase } from './helpers/onnx-cases.js';

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'nodegrad.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-onnx-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PYTHON = '/usr/bin/python3';
const NO_ONNX = 'python3-onnx is not installed (apt-get install python3-onnx): the ONNX checker did not run';
const hasOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

// Checks each file with full_check (the checker plus strict shape inference); prints one line a
// file, 'ok' or the checker's first line of complaint.
const CHECK = `
import sys, onnx
for f in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(f), full_check=True)
        print(f + ': ok')
    except Exception as e:
        print(f + ': ' + str(e).strip().splitlines()[0])
`;

function check(files: string[]): Record<string, string> {
  const r = spawnSync(PYTHON, ['-c', CHECK, ...files], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [path.basename(l.slice(0, l.indexOf(': '))), l.slice(l.indexOf(': ') + 2)]),
  );
}

function nodegrad(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, cwd: tmp });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("ONNX's checker", () => {
  it('accepts every exported model', (ctx) => {
    if (!hasOnnx) ctx.skip(NO_ONNX);
    const files = CASES.map((c) => {
      const f = path.join(tmp, `${c.name}.onnx`);
      fs.writeFileSync(f, exportCase(c));
      return f;
    });
    const verdicts = check(files);
    expect(Object.keys(verdicts)).toHaveLength(CASES.length);
    for (const [file, verdict] of Object.entries(verdicts)) expect(`${file}: ${verdict}`).toBe(`${file}: ok`);
  });

  it('refuses a file with an unknown op, so its verdicts above mean something', (ctx) => {
    if (!hasOnnx) ctx.skip(NO_ONNX);
    const proto = decodeModel(exportCase(CASES[0])) as { graph: { node: { op_type: string }[] } };
    proto.graph.node[0].op_type = 'Gemmm';
    const f = path.join(tmp, 'broken.onnx');
    fs.writeFileSync(f, encodeModel(proto));
    expect(check([f])['broken.onnx']).toMatch(/Gemmm/);
  });
});

describe('nodegrad export', () => {
  let model: string;
  beforeAll(() => {
    const out = path.join(tmp, 'trained');
    const r = cli(['train', '--epochs', '2', '--quiet', '--no-plot', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    model = path.join(out, 'model.safetensors');
  });

  async function run(file: string, x: Float32Array, n: number): Promise<Float32Array> {
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ input: new ort.Tensor('float32', x, [n, 64]) });
    return out.output.data as Float32Array;
  }

  /** Logits agree within 1e-5 relative to their size (they reach ~10 here), and so do the classes. */
  function expectClose(got: Float32Array, want: Float32Array): void {
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
    expect(worst).toBeLessThanOrEqual(1e-5);
  }

  it('writes a model that onnxruntime runs on raw digits (0..16) with the outputs of nodegrad predict', async () => {
    const file = path.join(tmp, 'digits.onnx');
    const r = nodegrad('export', '--model', model, '--onnx', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `wrote ${file} (ONNX opset 17, 64-128-64-10, batch dimension 'batch'; preprocessing folded in: the input is in the data set's units)\n`,
    );
    const digits = ng.loadDigits();
    const loaded = ng.loadModel(model);
    const want = ng.predict(loaded, digits).data;
    const units = Float32Array.from(digits.x, (v) => v * 16); // loadDigits divided the file's 0..16 by 16
    expect(loaded.preprocessor!.inputScale).toBe(1 / 16);
    expectClose(await run(file, units, digits.length), want);
    if (hasOnnx) expect(check([file])['digits.onnx']).toBe('ok');
  });

  it('--preprocess metadata: the graph takes standardised features and the metadata says how to make them', async () => {
    const file = path.join(tmp, 'digits-meta.onnx');
    const r = nodegrad(
      'export',
      '--model',
      model,
      '--onnx',
      file,
      '--preprocess',
      'metadata',
      '--opset',
      '13',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      event: 'export',
      model,
      onnx: file,
      opset: 13,
      preprocess: 'metadata',
    });
    const loaded = ng.loadModel(model);
    const meta = Object.fromEntries(
      (decodeModel(fs.readFileSync(file)).metadata_props as { key: string; value: string }[]).map((p) => [
        p.key,
        p.value,
      ]),
    );
    const pre = ng.Preprocessor.fromJSON(JSON.parse(meta['nodegrad.preprocess']));
    const digits = ng.loadDigits();
    expectClose(await run(file, pre.transform(digits.x), digits.length), ng.predict(loaded, digits).data);
    if (hasOnnx) expect(check([file])['digits-meta.onnx']).toBe('ok');
  });

  it('refuses an unsupported opset, a wrong input shape, an unwritable path, writing nothing', () => {
    const file = path.join(tmp, 'never.onnx');
    const bad = nodegrad('export', '--model', model, '--onnx', file, '--opset', '18');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--opset 18 is not supported: nodegrad exports ONNX opsets 13 to 17/);
    const unwritable = nodegrad('export', '--model', model, '--onnx', path.join(tmp, 'no-dir', 'm.onnx'));
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/m\.onnx: cannot write: ENOENT/);
    const shape = nodegrad('export', '--model', model, '--onnx', file, '--input-shape', '1,8,8');
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/the model does not take inputs of shape \[N, 1, 8, 8\]: 0: Linear\(64 -> 128\)/);
    expect(nodegrad('export', '--model', model, '--onnx', file, '--input-shape', '64.5').code).toBe(2);
    const missing = nodegrad('export', '--onnx', file);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing --model FILE/);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('never') || f === 'no-dir')).toEqual([]);
  });

  it('--help describes the command and nodegrad --help lists it', () => {
    expect(cli(['export', '--help']).stdout).toMatch(/--opset N .*13 to 17 \(default 17\)/);
    expect(cli(['--help']).stdout).toMatch(/ {2}export {5}a saved model as an ONNX file/);
  });
});
