// Writes two headers from the kernel table (lib/backend/kernel-table.ts, read compiled from
// dist/, so run `npm run build:ts` first):
// - native/binding/generated.h: one checked-arguments struct per kernel, whose constructor
//   checks the call's arguments with args.h's helpers in the table's order, and the list of
//   methods the addon defines. The TS backend's checker (check.ts) reads the same table, so
//   both backends check the same things with the same messages.
// - native/wasm/exports.h: one macro per kernel that defines its WebAssembly export with the
//   table's parameters (the wasm backend checks arguments in JS, with check.ts, before copying
//   them into the module's memory); native/wasm/exports.cc gives each its one-line body.
//
//   node scripts/gen-bindings.mjs          rewrite the headers
//   node scripts/gen-bindings.mjs --check  exit 1 when a checked-in header is stale (CI)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const headerPath = path.join(root, 'native', 'binding', 'generated.h');
export const wasmHeaderPath = path.join(root, 'native', 'wasm', 'exports.h');

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const pascal = (name) => name[0].toUpperCase() + name.slice(1);
const cType = {
  bool: 'bool',
  size: 'int64_t',
  int: 'int64_t',
  number: 'double',
  f32: 'F32',
  'f32?': 'F32',
  i32: 'I32',
};
const literal = (d) => (d === MAX_SAFE ? 'kMaxSafe' : String(d));
const cString = (s) => JSON.stringify(s);

function condition(c) {
  return 'is' in c ? c.param : `${c.param} ${c.op} ${c.value}`;
}

function conditionText(c) {
  return 'is' in c ? `${c.param} is true` : `${c.param} ${c.op} ${c.value}`;
}

/** The count expression as C++: its factors, multiplied by Args::Need with an overflow check. */
function need(p) {
  return `a.Need(${p.name}, ${cString(p.count)}, {${p.count.split('*').join(', ')}});`;
}

/**
 * A window rule (kernel-table.ts): the output size it dictates, checked unless the call is
 * empty, with check.ts's messages. int64 is exact here: the sizes are bounded by the buffers
 * (the counts were checked) and the window parameters by 2^24.
 */
function windowCheck(w, emptyTest, known) {
  const [o, i, k, s, p] = [w.out, w.in, w.kernel, w.stride, w.pad].map((n) => known(n, 'windows'));
  const d = w.dilation !== undefined ? known(w.dilation, 'windows') : '1';
  const ceil = w.ceil !== undefined ? known(w.ceil, 'windows') : 'false';
  const dil = w.dilation !== undefined ? `${w.dilation}*` : '';
  const from = [w.in, w.kernel, w.stride, w.pad, w.dilation, w.ceil].filter((x) => x !== undefined).join(', ');
  return [
    `    ${emptyTest ? `if (!(${emptyTest})) ` : ''}{`,
    `      const int64_t span = ${d} * (${k} - 1) + 1, room = ${i} + 2 * ${p} - span;`,
    '      if (room < 0)',
    `        a.RangeErr(std::string(${cString(`${o}: the window ${dil}(${k}-1)+1 = `)}) + std::to_string(span) +`,
    `                   ${cString(` is larger than ${i} + 2*${p} = `)} + std::to_string(${i} + 2 * ${p}));`,
    `      int64_t want = ${ceil} ? (room + ${s} - 1) / ${s} + 1 : room / ${s} + 1;`,
    `      if (${ceil} && (want - 1) * ${s} >= ${i} + ${p}) --want;`,
    `      if (${o} != want)`,
    `        a.RangeErr(std::string(${cString(`${o} must be `)}) + std::to_string(want) + ${cString(` (from ${from}), got `)} +`,
    `                   std::to_string(${o}));`,
    '    }',
  ].join('\n');
}

/**
 * The `overwrites` entries (kernel-table.ts): nothing is generated from them, but a backend with
 * memory of its own skips copying these outputs in, so a slip (an input named, a flag of the
 * wrong kind, which would never hold or always hold) must fail here rather than corrupt results.
 */
function overwritesCheck(name, spec, writes, known) {
  const ps = spec.params;
  for (const [o, rule] of Object.entries(spec.overwrites ?? {})) {
    const where = `kernel table: ${name}.overwrites.${o}`;
    if (!writes.has(o)) throw new Error(`${where}: ${o} is not in writes`);
    if (rule === true) continue;
    const kind =
      rule !== null && typeof rule === 'object'
        ? 'unless' in rule
          ? 'bool'
          : 'whenZero' in rule
            ? 'number'
            : null
        : null;
    if (kind === null || Object.keys(rule).length !== 1)
      throw new Error(`${where} must be true, { unless: <bool parameter> } or { whenZero: <number parameter> }`);
    const flag = kind === 'bool' ? rule.unless : rule.whenZero;
    const p = ps.find((q) => q.name === known(flag, `overwrites.${o}`));
    if (p.kind !== kind) throw new Error(`${where}: ${flag} is not a ${kind} parameter (it is ${p.kind})`);
  }
}

function struct(name, spec) {
  const S = `${pascal(name)}Args`;
  const ps = spec.params;
  const names = new Set(ps.map((p) => p.name));
  const known = (n, what) => {
    if (!names.has(n)) throw new Error(`kernel table: ${name}.${what} names no parameter '${n}'`);
    return n;
  };
  const out = [];
  out.push(`// ${name}(${ps.map((p) => p.name).join(', ')})`);
  out.push(`struct ${S} {`);
  for (const p of ps) out.push(`  ${cType[p.kind]} ${p.name};`);
  if (spec.empty) out.push(`  bool empty;  // ${spec.empty} == 0: the call has nothing to do`);
  if (spec.labels) out.push(`  std::vector<int32_t> ${spec.labels.param}_owned;  // the copy the kernel reads`);
  out.push('');
  out.push(`  explicit ${S}(const Napi::CallbackInfo& info) {`);
  out.push(`    Args a(info, ${cString(name)}, ${ps.length});`);
  ps.forEach((p, i) => {
    switch (p.kind) {
      case 'bool':
        out.push(`    ${p.name} = a.Bool(${i}, ${cString(p.name)});`);
        break;
      case 'size':
        out.push(`    ${p.name} = a.Size(${i}, ${cString(p.name)});`);
        break;
      case 'number':
        out.push(`    ${p.name} = a.Number(${i}, ${cString(p.name)});`);
        break;
      case 'int':
        out.push(`    ${p.name} = a.Integer(${i}, ${cString(p.name)}, ${literal(p.min)}, ${literal(p.max)});`);
        break;
      case 'f32':
        out.push(`    ${p.name} = a.Float32(${i}, ${cString(p.name)});`);
        break;
      case 'i32':
        out.push(`    ${p.name} = a.Int32(${i}, ${cString(p.name)});`);
        break;
      case 'f32?':
        break;
      default:
        throw new Error(`kernel table: ${name}.${p.name} has unknown kind '${p.kind}'`);
    }
  });
  ps.forEach((p, i) => {
    if (p.kind !== 'f32?') return;
    known(p.when.param, `${p.name}.when`);
    out.push(`    const bool ${p.name}_used = ${condition(p.when)};`);
    out.push(
      `    ${p.name} = a.OptionalFloat32(${i}, ${cString(p.name)}, ${p.name}_used, ${cString(conditionText(p.when))});`,
    );
  });
  // What the kernel writes: float arrays only, and every output of an overlap pair among them
  // (a backend that copies results back, such as wasm, copies exactly these).
  const writes = new Set(spec.writes);
  for (const w of spec.writes) {
    const p = ps.find((q) => q.name === known(w, 'writes'));
    if (p.kind !== 'f32' && p.kind !== 'f32?')
      throw new Error(`kernel table: ${name}.writes: ${w} is not a float array`);
  }
  for (const [o] of [...(spec.sameOrDisjoint ?? []), ...(spec.disjoint ?? [])]) {
    if (!writes.has(o)) throw new Error(`kernel table: ${name}: ${o} is an overlap pair's output but not in writes`);
  }
  overwritesCheck(name, spec, writes, known);
  for (const p of ps) {
    if (!('count' in p)) continue;
    p.count.split('*').forEach((f) => known(f, `${p.name}.count`));
    out.push(`    ${p.kind === 'f32?' ? `if (${p.name}_used) ` : ''}${need(p)}`);
  }
  const emptyTest = spec.empty
    ? spec.empty
        .split('*')
        .map((f) => `${known(f, 'empty')} == 0`)
        .join(' || ')
    : null;
  for (const w of spec.windows ?? []) out.push(windowCheck(w, emptyTest, known));
  for (const [o, n] of spec.sameOrDisjoint ?? [])
    out.push(`    a.SameOrDisjoint(${known(o, 'sameOrDisjoint')}, ${known(n, 'sameOrDisjoint')});`);
  for (const [o, n] of spec.disjoint ?? [])
    out.push(`    a.Disjoint(${known(o, 'disjoint')}, ${known(n, 'disjoint')});`);
  if (spec.labels) {
    const l = spec.labels;
    out.push(
      `    ${known(l.param, 'labels')} = a.OwnLabels(${l.param}, ${known(l.count, 'labels')}, ${known(l.classes, 'labels')}, ${l.param}_owned);`,
    );
  }
  if (emptyTest) out.push(`    empty = ${emptyTest};`);
  out.push('  }');
  out.push(`  ${S}(const ${S}&) = delete;  // views may point into this object`);
  out.push(`  ${S}& operator=(const ${S}&) = delete;`);
  out.push('};');
  return out.join('\n');
}

/** The opening lines of every generated header. */
const GENERATED = [
  '// Generated by scripts/gen-bindings.mjs from lib/backend/kernel-table.ts: do not edit.',
  '// `npm run gen:bindings` rewrites it; CI (`npm run check:bindings`) fails when it is stale.',
  '//',
];

/** The header's text for the given table. */
export function render(kernels) {
  const names = Object.keys(kernels);
  return [
    ...GENERATED,
    "// One struct per kernel: constructing it from a call's arguments checks every one of them in",
    "// the table's order with args.h's helpers (throwing a TypeError or RangeError that names the",
    '// function and the parameter) and leaves them typed for the kernel call in addon.cc. Labels',
    '// are copied into the struct, checked there, and the kernel reads the copy: another thread',
    "// writing the caller's (shared) memory cannot change a label after its check.",
    '#pragma once',
    '',
    '#include <cstdint>',
    '#include <string>',
    '#include <vector>',
    '',
    '#include "args.h"',
    '',
    'namespace nb {',
    '',
    ...names.map((n) => `${struct(n, kernels[n])}\n`),
    '}  // namespace nb',
    '',
    "// The kernels' methods for DefineAddon: the addon class needs one member function per kernel.",
    '#define NB_KERNEL_METHODS(Class, attributes) \\',
    ...names.map(
      (n, i) =>
        `  InstanceMethod(${cString(n)}, &Class::${pascal(n)}, attributes)${i < names.length - 1 ? ', \\' : ''}`,
    ),
    '',
  ].join('\n');
}

// WebAssembly parameter types: booleans as i32, sizes and numbers as f64 (a JS number passes
// as is: no BigInt, and every safe integer is exact), arrays as i32 addresses in the module's
// memory (0 for an optional array the call does not need).
const wasmType = {
  bool: 'int32_t',
  size: 'double',
  int: 'double',
  number: 'double',
  f32: 'float*',
  'f32?': 'float*',
  i32: 'const int32_t*',
};

/** The export's name in the module: the table's name, prefixed so that no C symbol collides. */
export const wasmExport = (name) => `ngw_${name}`;

function wasmMacro(name, spec) {
  const ps = spec.params;
  const raw = (p) => (p.kind === 'bool' || p.kind === 'size' || p.kind === 'int' ? `${p.name}_` : p.name);
  const ret = spec.returns === 'number' ? 'double' : 'void';
  const lines = [
    `// ${name}(${ps.map((p) => p.name).join(', ')})`,
    `#define NGW_EXPORT_${name}(call) \\`,
    `  extern "C" EMSCRIPTEN_KEEPALIVE ${ret} ${wasmExport(name)}(${ps.map((p) => `${wasmType[p.kind]} ${raw(p)}`).join(', ')}) { \\`,
  ];
  for (const p of ps) {
    if (p.kind === 'bool') lines.push(`    const bool ${p.name} = ${p.name}_ != 0; \\`);
    if (p.kind === 'size' || p.kind === 'int')
      lines.push(`    const int64_t ${p.name} = static_cast<int64_t>(${p.name}_); \\`);
  }
  lines.push(`    ${ret === 'void' ? '' : 'return '}call; \\`, '  }');
  return lines.join('\n');
}

/** native/wasm/exports.h's text for the given table. */
export function renderWasm(kernels) {
  const names = Object.keys(kernels);
  return [
    ...GENERATED,
    "// One macro per kernel: NGW_EXPORT_<name>(call) defines the module's export ngw_<name> with",
    "// the table's parameters in the table's order, already converted (bool, int64_t sizes, double",
    '// numbers, pointers into the memory), and returns `call`, an expression over them.',
    '// native/wasm/exports.cc writes one line per kernel; lib/backend/wasm.ts checks the arguments,',
    '// copies the arrays in and copies `writes` back out.',
    '#pragma once',
    '',
    '#include <emscripten/emscripten.h>',
    '',
    '#include <cstdint>',
    '',
    ...names.map((n) => `${wasmMacro(n, kernels[n])}\n`),
    "// The kernels' export names, in table order (the build checks the module has every one).",
    `#define NGW_KERNEL_EXPORTS ${names.map((n) => cString(wasmExport(n))).join(', ')}`,
    '',
  ].join('\n');
}

function main() {
  const req = createRequire(import.meta.url);
  const tablePath = path.join(root, 'dist', 'backend', 'kernel-table.js');
  if (!fs.existsSync(tablePath)) {
    console.error(`gen-bindings: ${path.relative(root, tablePath)} is missing: run npm run build:ts first`);
    process.exit(2);
  }
  const { KERNELS } = req(tablePath);
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [file, text] of [
    [headerPath, render(KERNELS)],
    [wasmHeaderPath, renderWasm(KERNELS)],
  ]) {
    const rel = path.relative(root, file);
    if (check) {
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      if (current !== text) {
        console.error(
          `gen-bindings: ${rel} is stale (it does not match lib/backend/kernel-table.ts): run npm run gen:bindings and commit it`,
        );
        stale = true;
      } else {
        console.log(`gen-bindings: ${rel} is up to date`);
      }
      continue;
    }
    fs.writeFileSync(file, text);
    console.log(`gen-bindings: wrote ${rel}`);
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
