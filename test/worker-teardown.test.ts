// A worker terminated while it loads nodegrad (or runs its first op) must not take the process
// down. Before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS, a Node-API call failing during the
// worker's teardown became a C++ throw inside node-addon-api's own catch: std::terminate, and
// `terminate called after throwing an instance of 'Napi::Error'` killed the whole process (3 of
// 3 runs of this test's 600 workers on the code before the fix).
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { childEnv, root } from './fixtures/child.js';

describe('workers terminated at random moments while they load nodegrad', () => {
  it('leave the process alive (600 workers, 3 at a time, each killed within 80 ms)', () => {
    const fixture = path.join(root, 'test', 'fixtures', 'terminate-during-load.js');
    const entry = path.join(root, 'dist', 'index.js');
    const r = spawnSync(process.execPath, [fixture, entry, '200'], {
      cwd: root,
      env: childEnv(),
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.stderr).not.toContain('terminate called');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('survived 600');
  }, 300_000);
});
