// Labels in shared memory changed by another thread while the native softmax cross-entropy runs
// on them (issue 16): the binding reads each label once (it checks and uses a private copy), so
// the process never dies, whatever the other thread writes. In a child process, so that a
// crash fails this test instead of killing the runner (test/fixtures/label-race-child.js).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { backends, info } from '../lib/backend/index.js';
import { childEnv, root } from './fixtures/child.js';

const skipReason = backends().native ? '' : ` (skipped: no native backend: ${info().nativeError ?? 'unknown reason'})`;

describe.skipIf(!backends().native)(`labels flipped by a worker during native calls${skipReason}`, () => {
  it('never crash the process: every call returns or throws a RangeError', () => {
    const calls = 3000;
    const r = spawnSync(
      process.execPath,
      [path.join(__dirname, 'fixtures', 'label-race-child.js'), info().nativePath!, String(calls)],
      {
        cwd: root,
        env: childEnv(),
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.signal, `the child died by a signal: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const stats = JSON.parse(lines[lines.length - 1]) as { calls: number; ok: number; rangeErrors: number };
    expect(stats.calls).toBe(2 * calls);
    expect(stats.ok + stats.rangeErrors).toBe(stats.calls);
    expect(stats.ok, 'some calls saw valid labels and ran').toBeGreaterThan(0);
  });
});

describe('labels in shared memory on the TS backend', () => {
  it('are checked and used as one copy: the kernel sees the labels that passed the check', () => {
    const labels = new Int32Array(new SharedArrayBuffer(8));
    labels.set([0, 2]);
    const probs = new Float32Array(6);
    const loss = backends().ts.softmaxCrossEntropy(new Float32Array(6), labels, 2, 3, probs);
    expect(loss).toBeCloseTo(Math.log(3), 6);
    expect(() => backends().ts.softmaxCrossEntropy(new Float32Array(6), Int32Array.from([0, 3]), 2, 3, probs)).toThrow(
      new RangeError('softmaxCrossEntropy: labels[1] = 3 is out of range [0, 3)'),
    );
  });
});
