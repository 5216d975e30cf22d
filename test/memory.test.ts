// Memory stays flat over long runs (measured in a child process with --expose-gc and a full
// gc() before each sample, so that leaks show rather than GC timing):
// - 10,000 training steps of a 64-32-10 MLP on digits batches: resident memory grows by less
//   than 10 MB between step 2,000 (after warm-up) and step 10,000;
// - 30 short fitInWorker runs one after the other (each a worker thread with its own addon
//   instance and thread pool): less than 10 MB between run 10 and run 30.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { childEnv, root } from './fixtures/child.js';
import { requireBuiltWorker } from './fixtures/dist.js';
import { backends } from '../lib/backend/index.js';

interface Report {
  backend: string;
  simd: string | null;
  mode: string;
  count: number;
  samples: [number, number, number, number][];
  ms: number;
}

function run(mode: 'steps' | 'workers', count: number, every: number): Report {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', path.join(__dirname, 'fixtures', 'memory-child.js'), mode, String(count), String(every)],
    {
      cwd: root,
      env: childEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Report;
}

const rssAt = (rep: Report, i: number): number => {
  const s = rep.samples.find(([at]) => at === i);
  if (s === undefined) throw new Error(`no sample at ${i}: ${JSON.stringify(rep.samples)}`);
  return s[1];
};
const table = (rep: Report) =>
  rep.samples.map(([i, rss, heap]) => `${i}: ${rss.toFixed(1)} MB (heap ${heap.toFixed(1)})`).join(', ');

describe('resident memory over long runs', () => {
  it('grows < 10 MB from step 2,000 to step 10,000 of training', () => {
    requireBuiltWorker();
    const rep = run('steps', 10_000, 1000);
    expect(rep.count).toBe(10_000);
    expect(rep.backend).toBe(backends().native ? 'native' : 'ts');
    const growth = rssAt(rep, 10_000) - rssAt(rep, 2000);
    console.log(
      `memory (${rep.backend}/${rep.simd}), 10,000 steps in ${rep.ms} ms: RSS growth step 2,000 -> 10,000 = ${growth.toFixed(2)} MB; ${table(rep)}`,
    );
    expect(growth).toBeLessThan(10);
    // and the JS heap does not creep either (history records are the only thing kept)
    expect(rep.samples.at(-1)![2] - rep.samples[2][2]).toBeLessThan(2);
  });

  it('grows < 10 MB from run 10 to run 30 of short fitInWorker runs (workers and addon instances are freed)', () => {
    requireBuiltWorker();
    const rep = run('workers', 30, 5);
    const growth = rssAt(rep, 30) - rssAt(rep, 10);
    console.log(
      `memory, 30 fitInWorker runs in ${rep.ms} ms: RSS growth run 10 -> 30 = ${growth.toFixed(2)} MB; ${table(rep)}`,
    );
    expect(growth).toBeLessThan(10);
  });
});
