// Atomic saves: a process killed (SIGKILL) in the middle of saving a checkpoint leaves the
// previous checkpoint loadable, whole, and nothing in the directory but the checkpoint and, at
// most, temporary files named `.<name>.<pid>-<12 hex digits>.tmp` (the documented pattern; a
// kill cannot clean up after itself, the next save of the same file does). A killed fit's
// checkpoint resumes.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTree, saveTree } from '../lib/train/serialize.js';
import { fit } from '../lib/train/fit.js';
import { loadDigits } from '../lib/data/index.js';
import { mlp } from '../lib/nn/index.js';
import { childEnv, root } from './fixtures/child.js';
import { requireBuiltWorker } from './fixtures/dist.js';

const childScript = path.join(__dirname, 'fixtures', 'checkpoint-child.js');
const FLOATS = 1 << 21; // 8 MB of weights + 2 MB of moments a checkpoint

/** Starts the child, resolves once `ready` lines have been printed, then kills it after `delayMs`. */
async function killDuringSaves(args: string[], ready: (line: string) => boolean, delayMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [childScript, ...args], {
    cwd: root,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() as string;
      for (const l of parts) {
        lines.push(l);
        if (ready(l)) resolve();
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`the child exited early (code ${code}, signal ${signal}): ${stderr}`)),
    );
  });
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  const { signal } = await exited;
  expect(signal).toBe('SIGKILL');
  return lines;
}

/** Files in dir other than `name`; each must be one of its temporary files. */
function leftovers(dir: string, name: string): string[] {
  const others = fs.readdirSync(dir).filter((f) => f !== name);
  const pattern = new RegExp(`^\\.${name.replace(/\./g, '\\.')}\\.\\d+-[0-9a-f]{12}\\.tmp$`);
  for (const f of others) expect(f, `unexpected file left in the checkpoint directory`).toMatch(pattern);
  return others;
}

describe('a checkpoint save killed with SIGKILL', () => {
  it('leaves the previous checkpoint loadable and whole (saveTree, random kill times)', async () => {
    requireBuiltWorker();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-kill-'));
    const name = 'ckpt.safetensors';
    const file = path.join(dir, name);
    let midSave = 0;
    const ITERATIONS = 10;
    for (let k = 0; k < ITERATIONS; k++) {
      const first = k * 1_000_000;
      // Odd iterations: killed at a random moment. Even ones: killed while the child sleeps
      // between writing its temporary file and renaming it (surely mid-save), after >= 1 save.
      const paused = k % 2 === 0;
      let saves = 0;
      const lines = paused
        ? await killDuringSaves(
            ['tree-pause', file, String(FLOATS), String(first)],
            (l) => {
              if (l.startsWith('saved ')) saves++;
              return l === 'fsync' && saves > 0;
            },
            Math.random() * 100,
          )
        : await killDuringSaves(
            ['tree', file, String(FLOATS), String(first)],
            (l) => l.startsWith('saved '),
            Math.random() * 250,
          );
      const saved = lines.filter((l) => l.startsWith('saved ')).map((l) => Number(l.slice(6)));
      const last = saved[saved.length - 1];
      const tree = loadTree(file) as {
        index: number;
        tag: string;
        model: { weights: Float32Array };
        optimizer: { moments: Float32Array; step: number };
      };
      // the last save reported, or (killed at random) the one after it, finished just before the kill
      expect(paused ? [last] : [last, last + 1]).toContain(tree.index);
      expect(tree.tag).toBe(`state ${tree.index}`);
      expect(tree.optimizer.step).toBe(tree.index);
      expect(tree.model.weights.length).toBe(FLOATS);
      expect(tree.model.weights.every((v) => v === tree.index)).toBe(true);
      expect(tree.optimizer.moments.every((v) => v === -tree.index)).toBe(true);
      const tmp = leftovers(dir, name);
      if (paused) expect(tmp, 'the interrupted save left its temporary file').toHaveLength(1);
      if (tmp.length > 0) {
        midSave++;
        // the next save of the same file removes what the killed process left behind
        saveTree(file, { index: -1 });
        expect(leftovers(dir, name)).toEqual([]);
        expect((loadTree(file) as { index: number }).index).toBe(-1);
      }
    }
    console.log(
      `checkpoint-kill: ${ITERATIONS} kills, ${midSave} of them in the middle of writing a checkpoint (a temporary file was left)`,
    );
    expect(midSave).toBeGreaterThanOrEqual(ITERATIONS / 2);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("leaves a killed fit's checkpoint loadable, and fit resumes from it", async () => {
    requireBuiltWorker();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-kill-fit-'));
    const name = 'run.safetensors';
    const file = path.join(dir, name);
    const train = loadDigits();
    for (let k = 0; k < 3; k++) {
      // "epoch e" is printed before epoch e's checkpoint is written, so after "epoch 2" the
      // checkpoint of epoch 1 exists for sure; the kill then lands anywhere in later saves
      await killDuringSaves(
        ['fit', file],
        (l) => l.startsWith('epoch ') && Number(l.slice(6)) >= 2,
        Math.random() * 200,
      );
      const ck = loadTree(file) as { epoch: number };
      expect(ck.epoch).toBeGreaterThanOrEqual(1);
      const model = mlp(64, [256, 256], 10);
      const history = fit(model, {
        train,
        epochs: ck.epoch + 1,
        batchSize: 128,
        seed: 1,
        progress: false,
        resume: file,
      });
      expect(history.epochs.at(-1)!.epoch).toBe(ck.epoch + 1);
      for (const f of leftovers(dir, name)) fs.unlinkSync(path.join(dir, f));
      fs.unlinkSync(file); // the next child starts afresh
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
