// The prebuilt binary (what npm users get): it loads through node-gyp-build on its own
// (PREBUILDS_ONLY=1, since a local build/Release would win otherwise), computes correctly, and
// is a baseline x86-64 binary that picks AVX2 only on a CPU that has it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleBackend, childEnv, lastJson, requireBackendSnippet, root, runNode } from './fixtures/child.js';

const platformDir = `${process.platform}-${process.arch}`;
const prebuilt = path.join(root, 'prebuilds', platformDir, 'nodegrad.node');
const hasPrebuild = fs.existsSync(prebuilt);
const skipReason = hasPrebuild
  ? ''
  : ` (skipped: no prebuilds/${platformDir}/nodegrad.node; run \`npx prebuildify --napi --strip\` first, as CI does)`;

const smoke = path.join(root, 'test', 'fixtures', 'smoke.cjs');
interface Smoke {
  path: string;
  simd: string;
  supported: string[];
  threads: number;
  gemmErr: number;
  probErr: number;
  lossErr: number;
  failures: string[];
}

function runSmoke(env: Record<string, string | undefined>, wrapper: string[] = [], addonPath?: string) {
  const argv = [...wrapper, process.execPath, smoke, ...(addonPath ? [addonPath] : [])];
  const r = spawnSync(argv[0], argv.slice(1), { cwd: root, env: childEnv(env), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function expectCorrect(s: Smoke): void {
  expect(s.failures).toEqual([]);
  expect(s.gemmErr).toBeLessThan(5e-5);
  expect(s.probErr).toBeLessThan(1e-6);
  expect(s.lossErr).toBeLessThan(1e-5);
}

describe.skipIf(!hasPrebuild)(`prebuilt binary${skipReason}`, () => {
  it('loads through node-gyp-build with PREBUILDS_ONLY=1 and computes correctly', () => {
    const r = runSmoke({ PREBUILDS_ONLY: '1' });
    expect(r.status, r.stderr).toBe(0);
    const s = lastJson<Smoke>(r);
    expect(s.path).toBe(prebuilt);
    expect(s.supported).toContain(s.simd);
    expectCorrect(s);
  });

  it('computes correctly on every SIMD path it supports', () => {
    const probe = lastJson<Smoke>(runSmoke({ PREBUILDS_ONLY: '1' }));
    for (const simd of probe.supported) {
      const r = runSmoke({ PREBUILDS_ONLY: '1', NODEGRAD_SIMD: simd, NODEGRAD_THREADS: '3' });
      expect(r.status, r.stderr).toBe(0);
      const s = lastJson<Smoke>(r);
      expect(s.simd).toBe(simd);
      expect(s.threads).toBe(3);
      expectCorrect(s);
    }
  });

  describe('through the library loader', () => {
    let bundle = '';
    beforeAll(async () => {
      bundle = await bundleBackend();
    });
    afterAll(() => {
      if (bundle) fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
    });

    it('uses the prebuild as the native backend with PREBUILDS_ONLY=1', () => {
      const r = runNode(`${requireBackendSnippet(bundle)}console.log(JSON.stringify(backend.info()));`, {
        PREBUILDS_ONLY: '1',
        NODEGRAD_BACKEND: 'native',
      });
      expect(r.status, r.stderr).toBe(0);
      const out = lastJson<{ backend: string; nativePath: string }>(r);
      expect(out.backend).toBe('native');
      expect(out.nativePath).toBe(prebuilt);
    });
  });

  // qemu-user runs the very same node and binary on an emulated CPU model.
  const qemu = process.arch === 'x64' ? whichQemu() : null;
  const qemuSkip = qemu ? '' : " (skipped: needs x64 and qemu-x86_64-static, from Debian's qemu-user-static)";
  describe.skipIf(!qemu)(`on emulated CPUs${qemuSkip}`, () => {
    it('runs every kernel on a pre-AVX CPU (Nehalem), on the scalar path', () => {
      const r = runSmoke({ PREBUILDS_ONLY: '1' }, [qemu!, '-cpu', 'Nehalem'], prebuilt);
      expect(
        r.signal,
        `killed by ${r.signal} (an illegal instruction means AVX code leaked into the baseline)`,
      ).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      const s = lastJson<Smoke>(r);
      expect(s.simd).toBe('scalar');
      expect(s.supported).toEqual(['scalar']);
      expectCorrect(s);
    });

    it('refuses NODEGRAD_SIMD=avx2 on that CPU at load, naming the variable', () => {
      const r = runNode(
        `try { require(${JSON.stringify(prebuilt)}); console.log('"loaded"'); } catch (e) { console.log(JSON.stringify(e.message)); }`,
        { NODEGRAD_SIMD: 'avx2' },
        { wrapper: [qemu!, '-cpu', 'Nehalem'], timeout: 120_000 },
      );
      expect(lastJson<string>(r)).toBe("NODEGRAD_SIMD='avx2' cannot run with this CPU and binary (supported: scalar)");
    });

    it('picks AVX2 on a CPU that has AVX2 and FMA (Haswell)', () => {
      const r = runSmoke({ PREBUILDS_ONLY: '1' }, [qemu!, '-cpu', 'Haswell'], prebuilt);
      expect(r.status, r.stderr).toBe(0);
      const s = lastJson<Smoke>(r);
      expect(s.simd).toBe('avx2');
      expectCorrect(s);
    });
  });
});

function whichQemu(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'qemu-x86_64-static');
    if (fs.existsSync(p)) return p;
  }
  return null;
}
