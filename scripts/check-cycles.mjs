#!/usr/bin/env node
// Fails (exit 1) when modules of lib/ import each other in a circle, naming each cycle.
//
//   node scripts/check-cycles.mjs [project dir, default .]
//
// Only imports that exist at run time count: a cycle decides the order in which Node evaluates
// modules, so one module can see another's exports still undefined. `import type` (and an
// import used only in types) is erased by the compiler and cannot do that, so the graph checked
// is that of the compiled JavaScript: the project is compiled into a fresh temporary directory
// (never a dist/ that may hold files of deleted modules) and dependency-cruiser walks it.
// dependency-cruiser cannot read the TypeScript sources itself here: its TypeScript parser needs
// the compiler API, which TypeScript 7 no longer has, and its swc parser keeps type-only imports.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { cruise } from 'dependency-cruiser';

const project = path.resolve(process.argv[2] ?? '.');
const config = JSON.parse(fs.readFileSync(path.join(project, 'tsconfig.json'), 'utf8'));
const rootDir = config.compilerOptions?.rootDir ?? '.';
const tsPackage = createRequire(import.meta.url).resolve('typescript/package.json');
const tsc = path.join(path.dirname(tsPackage), JSON.parse(fs.readFileSync(tsPackage, 'utf8')).bin.tsc);

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-cycles-'));
try {
  try {
    execFileSync(
      process.execPath,
      [tsc, '-p', project, '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'],
      { stdio: 'inherit' },
    );
  } catch {
    console.error('check-cycles: the TypeScript build failed, so the import graph is unknown');
    process.exit(2);
  }
  const ruleSet = { forbidden: [{ name: 'no-circular', severity: 'error', from: {}, to: { circular: true } }] };
  const { output, exitCode } = await cruise(['.'], {
    baseDir: out,
    ruleSet,
    validate: true,
    outputType: 'err',
    doNotFollow: { path: 'node_modules' },
  });
  // Name the sources, not the compiled files in the temporary directory.
  const toSource = (text) => text.replace(/([\w./-]+)\.js\b/g, (_, p) => path.posix.join(rootDir, `${p}.ts`));
  process.stdout.write(toSource(output));
  process.exitCode = exitCode === 0 ? 0 : 1;
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
