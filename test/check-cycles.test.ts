// scripts/check-cycles.mjs (CI's import-cycle gate) against small projects with known cycles.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const script = path.join(__dirname, '..', 'scripts', 'check-cycles.mjs');
const dirs: string[] = [];

/** A project with tsconfig.json and the given files under lib/. */
function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cycles-test-'));
  dirs.push(dir);
  const compilerOptions = { module: 'nodenext', strict: true, rootDir: 'lib', outDir: 'dist', types: [] };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['lib/**/*.ts'] }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'lib', name)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lib', name), text);
  }
  return dir;
}

function check(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

// Type-only in both directions, in both spellings: erased by the compiler.
const typeCycle = {
  'types/c.ts': "import type { D } from './d.js';\nexport interface C { d?: D }\n",
  'types/d.ts': "import { type C } from './c.js';\nexport interface D { c?: C }\n",
};

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('check-cycles', () => {
  test('fails on a runtime import cycle and names its modules', () => {
    const dir = project({
      ...typeCycle,
      'a.ts': "import { b } from './sub/b.js';\nexport const a = (): number => b + 1;\n",
      'sub/b.ts': "import { a } from '../a.js';\nexport const b = 1;\nexport const useA = (): number => a();\n",
    });
    const { status, out } = check(dir);
    expect(status).toBe(1);
    expect(out).toMatch(/no-circular: lib\/a\.ts/);
    expect(out).toContain('lib/sub/b.ts');
    expect(out).not.toContain('types/');
  }, 60_000);

  test('passes when the only cycle is through type-only imports', () => {
    const dir = project({
      ...typeCycle,
      'a.ts': "import { b } from './sub/b.js';\nexport const a = (): number => b + 1;\n",
      'sub/b.ts': 'export const b = 1;\n',
    });
    const { status, out } = check(dir);
    expect(out).toContain('no dependency violations found');
    expect(status).toBe(0);
  }, 60_000);

  test('fails when the project does not compile, rather than pass on a partial graph', () => {
    const dir = project({ 'a.ts': "import { nothing } from './missing.js';\nexport const a = nothing;\n" });
    const { status, out } = check(dir);
    expect(status).toBe(2);
    expect(out).toContain('TypeScript build failed');
  }, 60_000);
});
