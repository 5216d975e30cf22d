// Argument checks derived from the kernel table (lib/backend/kernel-table.ts), run against
// every available backend: a wrong count, each parameter of a wrong type, each bad size, each
// buffer too short, each forbidden overlap, labels out of range, the optional buffers. A new
// table entry gets all of them. Also: both backends accept exactly the same typed arrays (a
// Proxy, a subclass whose length lies, one from another realm), and a call whose `empty` count
// is 0 returns at once, whatever the other sizes say. Hand-written special cases live in
// native-args.test.ts and kernels.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { backends } from '../lib/backend/index.js';
import { KERNEL_NAMES } from '../lib/backend/kernel-table.js';
import { render } from '../scripts/gen-bindings.mjs';
import { KERNELS } from '../lib/backend/kernel-table.js';
import { call, cases, conditionText, expectError, outcome, type Kind } from './helpers/kernel-cases.js';
import { bundleBackend, lastJson, requireBackendSnippet, runNode } from './fixtures/child.js';
import { all, compiled } from './helpers/backends.js';

/** Values of the wrong type for each kind, with how the message describes them. */
const wrongTypes: Record<Kind, [unknown, string][]> = {
  bool: [
    [1, 'number 1'],
    ['true', 'string'],
    [null, 'null'],
    [undefined, 'undefined'],
  ],
  size: [
    ['2', 'string'],
    [null, 'null'],
    [undefined, 'undefined'],
    [2n, 'bigint'],
    [{}, 'object'],
  ],
  number: [
    ['2', 'string'],
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'boolean'],
  ],
  int: [
    ['1', 'string'],
    [null, 'null'],
    [1n, 'bigint'],
  ],
  f32: [
    [new Float64Array(16), 'Float64Array'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'Array'],
    [new Int32Array(16), 'Int32Array'],
    [new Uint8Array(64), 'Uint8Array'],
    [new ArrayBuffer(64), 'ArrayBuffer'],
    [new DataView(new ArrayBuffer(64)), 'object'],
    [null, 'null'],
    [undefined, 'undefined'],
    [3, 'number 3'],
    [new Proxy(new Float32Array(64), {}), 'object'],
  ],
  i32: [
    [new Float32Array(16), 'Float32Array'],
    [new Uint32Array(16), 'Uint32Array'],
    [[0, 1], 'Array'],
    [null, 'null'],
    [new Proxy(new Int32Array(16), {}), 'object'],
  ],
  'f32?': [
    [new Float64Array(16), 'Float64Array'],
    [5, 'number 5'],
    [[0, 0, 0, 0, 0], 'Array'],
    [new Proxy(new Float32Array(64), {}), 'object'],
  ],
};
const expectedType: Record<Kind, string> = {
  bool: 'a boolean',
  size: 'a number',
  number: 'a number',
  int: 'a number',
  f32: 'a Float32Array',
  i32: 'an Int32Array',
  'f32?': 'a Float32Array or null',
};

describe.each(all)('%s backend: checks derived from the kernel table', (_label, k) => {
  describe.each(cases)('$fn', (c) => {
    const n = c.params.length;
    const sub = (i: number, v: unknown, args = c.valid()) => {
      args[i] = v;
      return args;
    };

    it('accepts the valid call, and one with buffers longer than needed', () => {
      expect(() => call(k, c.fn, c.valid())).not.toThrow();
      const longer = c.valid().map((a) => {
        if (a instanceof Float32Array) return new Float32Array(a.length + 7).fill(0.5).subarray(3, 3 + a.length + 2);
        if (a instanceof Int32Array) return Int32Array.from([0, ...a, 0]).subarray(1);
        return a;
      });
      expect(() => call(k, c.fn, longer)).not.toThrow();
    });

    it('rejects a wrong argument count with a TypeError', () => {
      for (let count = 0; count < n; count++) {
        expectError(
          () => call(k, c.fn, c.valid().slice(0, count)),
          TypeError,
          `${c.fn}: expected ${n} arguments, got ${count}`,
        );
      }
      expectError(() => call(k, c.fn, [...c.valid(), 0]), TypeError, `${c.fn}: expected ${n} arguments, got ${n + 1}`);
    });

    it('rejects each argument of the wrong type with a TypeError naming it', () => {
      c.params.forEach((p, i) => {
        for (const [v, got] of wrongTypes[p.kind]) {
          expectError(
            () => call(k, c.fn, sub(i, v)),
            TypeError,
            `${c.fn}: ${p.name} must be ${expectedType[p.kind]}, got ${got}`,
          );
        }
      });
    });

    it('rejects a bad size or integer with a RangeError naming it', () => {
      c.params.forEach((p, i) => {
        if (p.kind === 'size') {
          for (const v of [-1, -0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 1e300]) {
            expectError(
              () => call(k, c.fn, sub(i, v)),
              RangeError,
              `${c.fn}: ${p.name} must be a non-negative integer, got ${String(v)}`,
            );
          }
          // A safe integer too large for the buffers is a buffer that is too short (or, for a
          // count of labels' classes, labels that are all in range: then it is fine).
          for (const v of [2 ** 31, 2 ** 53 - 1]) {
            const r = outcome(() => call(k, c.fn, sub(i, v)));
            if (r !== 'returned')
              expect(r).toMatch(new RegExp(`^RangeError: ${c.fn}: \\w+ must have at least .* elements, got \\d+$`));
            else expect(c.labels?.classes).toBe(p.name);
          }
        }
        if (p.kind === 'int') {
          const range = p.max >= Number.MAX_SAFE_INTEGER ? `>= ${p.min}` : `from ${p.min} to ${p.max}`;
          for (const v of [p.min - 1, p.min + 0.5, NaN, Infinity, 2 ** 53]) {
            expectError(
              () => call(k, c.fn, sub(i, v)),
              RangeError,
              `${c.fn}: ${p.name} must be an integer ${range}, got ${String(v)}`,
            );
          }
        }
      });
    });

    it('rejects each buffer too short (also a short view and a detached buffer), naming it and its count', () => {
      c.params.forEach((p, i) => {
        if (!('count' in p)) return;
        const need = c.countOf(p.count);
        const make = (len: number) => (p.kind === 'i32' ? new Int32Array(len) : new Float32Array(len));
        const msg = (got: number) => `${c.fn}: ${p.name} must have at least ${p.count} = ${need} elements, got ${got}`;
        expectError(() => call(k, c.fn, sub(i, make(need - 1))), RangeError, msg(need - 1));
        expectError(() => call(k, c.fn, sub(i, make(0))), RangeError, msg(0));
        expectError(() => call(k, c.fn, sub(i, make(need + 10).subarray(11))), RangeError, msg(need - 1));
        const detached = make(need);
        structuredClone(detached.buffer, { transfer: [detached.buffer] });
        expectError(() => call(k, c.fn, sub(i, detached)), RangeError, msg(0));
      });
    });

    // out and in as views of one ArrayBuffer, out starting one element into in (or at in itself).
    const alias = (outName: string, inName: string, same: boolean) => {
      const args = c.valid();
      const o = args[c.at(outName)] as Float32Array,
        v = args[c.at(inName)] as Float32Array | Int32Array;
      const mem = new ArrayBuffer(4 * (o.length + v.length + 1));
      const inView = new (v.constructor as Float32ArrayConstructor)(mem, 0, v.length);
      inView.set(v);
      args[c.at(inName)] = inView;
      args[c.at(outName)] = new Float32Array(mem, same ? 0 : 4, o.length);
      return args;
    };

    it.runIf(c.windows.length > 0)(
      'checks each window rule: the output size it dictates and one window in the padded input',
      () => {
        const at = (name: string) => c.at(name);
        for (const w of c.windows) {
          const want = c.sizes[w.out];
          const from = [w.in, w.kernel, w.stride, w.pad, w.dilation, w.ceil].filter((x) => x !== undefined).join(', ');
          // a smaller output: every buffer is still long enough, so the rule is what fails
          expectError(
            () => call(k, c.fn, sub(at(w.out), want - 1)),
            RangeError,
            `${c.fn}: ${w.out} must be ${want} (from ${from}), got ${want - 1}`,
          );
          // a kernel longer than the padded input (buffers grown to suit it)
          const kernel = c.sizes[w.in] + 1;
          const args = c.valid().map((a) => (a instanceof Float32Array ? new Float32Array(a.length * kernel) : a));
          args[at(w.kernel)] = kernel;
          const dil = w.dilation !== undefined ? `${w.dilation}*` : '';
          expectError(
            () => call(k, c.fn, args),
            RangeError,
            `${c.fn}: ${w.out}: the window ${dil}(${w.kernel}-1)+1 = ${kernel} is larger than ${w.in} + 2*${w.pad} = ${c.sizes[w.in]}`,
          );
        }
      },
    );

    it('rejects each forbidden overlap, naming both buffers', () => {
      for (const [o, v] of c.disjoint) {
        expectError(() => call(k, c.fn, alias(o, v, false)), RangeError, `${c.fn}: ${o} must not overlap ${v}`);
      }
      for (const [o, v] of c.sameOrDisjoint) {
        expectError(
          () => call(k, c.fn, alias(o, v, false)),
          RangeError,
          `${c.fn}: ${o} must be ${v} itself or not overlap it (partial overlap)`,
        );
        expect(() => call(k, c.fn, alias(o, v, true)), `${o} = ${v} is allowed`).not.toThrow();
      }
    });

    it.runIf(c.labels)('rejects a label out of range, naming its index, before writing anything', () => {
      const l = c.labels!;
      const C = c.sizes[l.classes],
        last = c.countOf(l.count) - 1;
      for (const bad of [C, -1, 2 ** 31 - 1, -(2 ** 31)]) {
        const args = c.valid();
        (args[c.at(l.param)] as Int32Array)[last] = bad;
        const outputs = args.filter((a) => a instanceof Float32Array).map((a) => (a as Float32Array).slice());
        expectError(
          () => call(k, c.fn, args),
          RangeError,
          `${c.fn}: ${l.param}[${last}] = ${bad} is out of range [0, ${C})`,
        );
        expect(
          args.filter((a) => a instanceof Float32Array),
          'nothing written',
        ).toEqual(outputs);
      }
    });

    it('requires each optional buffer only under its condition', () => {
      c.params.forEach((p, i) => {
        if (p.kind !== 'f32?') return;
        for (const none of [null, undefined]) {
          expectError(
            () => call(k, c.fn, sub(i, none)),
            TypeError,
            `${c.fn}: ${p.name} must be a Float32Array when ${conditionText(p.when)}, got ${String(none)}`,
          );
          expect(() => call(k, c.fn, sub(i, none, c.withoutOptional()))).not.toThrow();
        }
        // Not needed: ignored even when short, but it must still be a Float32Array or null.
        expect(() => call(k, c.fn, sub(i, new Float32Array(1), c.withoutOptional()))).not.toThrow();
        expectError(
          () => call(k, c.fn, sub(i, 0, c.withoutOptional())),
          TypeError,
          `${c.fn}: ${p.name} must be a Float32Array or null, got number 0`,
        );
      });
    });

    it('sees a typed array as it is: a subclass whose length lies is read to its real length only', () => {
      class Lying extends Float32Array {
        override get length() {
          return 1e9;
        }
      }
      class LyingI32 extends Int32Array {
        override get length() {
          return 1e9;
        }
      }
      c.params.forEach((p, i) => {
        if (!('count' in p)) return;
        const need = c.countOf(p.count);
        const Ctor = p.kind === 'i32' ? LyingI32 : Lying;
        const short = new Ctor(need - 1);
        expectError(
          () => call(k, c.fn, sub(i, short)),
          RangeError,
          `${c.fn}: ${p.name} must have at least ${p.count} = ${need} elements, got ${need - 1}`,
        );
        const ok = new Ctor(need);
        ok.set(c.valid()[i] as ArrayLike<number>);
        expect(() => call(k, c.fn, sub(i, ok))).not.toThrow();
      });
    });

    it('accepts typed arrays made in another realm, as Node-API does', () => {
      const args = c.valid().map((a) => {
        if (a instanceof Float32Array) return vm.runInNewContext(`new Float32Array(${a.length}).fill(0.5)`) as unknown;
        if (a instanceof Int32Array)
          return vm.runInNewContext(`Int32Array.from(${JSON.stringify(Array.from(a))})`) as unknown;
        return a;
      });
      expect(() => call(k, c.fn, args)).not.toThrow();
    });
  });
});

describe.each(compiled)('the %s and ts backends accept exactly the same inputs', (_name, other) => {
  it.each(cases)('$fn: same outcome for proxies, lying subclasses, foreign-realm arrays, shared memory', (c) => {
    class Lying extends Float32Array {
      override get length() {
        return 3;
      }
      override get byteOffset() {
        return 1024;
      }
    }
    const variants = (a: unknown): unknown[] => {
      if (!(a instanceof Float32Array) && !(a instanceof Int32Array)) return [];
      const shared = new (a.constructor as Float32ArrayConstructor)(new SharedArrayBuffer(4 * a.length));
      shared.set(a);
      return [
        new Proxy(a, {}),
        Object.assign(new Lying(a.length), { 0: 0.5 }),
        vm.runInNewContext(`new ${a.constructor.name}(${a.length})`),
        shared,
        a.subarray(0, Math.max(0, a.length - 1)),
      ];
    };
    const base = c.valid();
    base.forEach((a, i) => {
      for (const v of variants(a)) {
        const copy = () => c.valid().map((x, j) => (j === i ? v : x));
        expect(
          outcome(() => call(backends().ts, c.fn, copy())),
          `${c.fn} arg ${i}`,
        ).toBe(outcome(() => call(other, c.fn, copy())));
      }
    });
  });
});

describe('a call whose empty count is 0 returns at once on every backend, whatever its other sizes', () => {
  let bundle = '';
  beforeAll(async () => {
    bundle = await bundleBackend();
  });
  afterAll(() => {
    if (bundle) fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
  });

  // For each factor of the empty count set to 0 and each other size set to 2^53 - 1: the
  // remaining sizes as in the valid call, or 0 where a buffer's count needs it.
  const HUGE = Number.MAX_SAFE_INTEGER;
  const emptyCases = cases
    .filter((c) => c.empty)
    .flatMap((c) => {
      const arrays = c.params.filter((p) => 'count' in p) as { name: string; count: string }[];
      const fits = (s: Record<string, number>) =>
        arrays.every((p) => p.count.split('*').reduce((m, f) => m * (s[f] ?? c.countOf(f)), 1) <= c.countOf(p.count));
      return c.empty!.split('*').flatMap((zero) =>
        Object.keys(c.sizes)
          .filter((big) => big !== zero)
          .flatMap((big) => {
            const sizes: Record<string, number> = { ...c.sizes, [zero]: 0, [big]: HUGE };
            for (const r of Object.keys(c.sizes)) if (!fits(sizes) && r !== zero && r !== big) sizes[r] = 0;
            if (!fits(sizes)) return [];
            const args = c.valid().map((a, i) => {
              const p = c.params[i];
              if (p.kind === 'size') return { size: sizes[p.name] };
              if (a instanceof Float32Array) return { f32: a.length };
              if (a instanceof Int32Array) return { i32: Array.from(a) };
              return a;
            });
            return [{ fn: c.fn, zero, big, args }];
          }),
      );
    });

  it('finds cases with a huge size for every kernel that declares an empty count', () => {
    expect([...new Set(emptyCases.map((e) => e.fn))].sort()).toEqual(
      cases
        .filter((c) => c.empty)
        .map((c) => c.fn)
        .sort(),
    );
  });

  it('in a child process with a time limit (a loop over 2^53 rows would never end)', () => {
    const code = `${requireBackendSnippet(bundle)}
      const cases = ${JSON.stringify(emptyCases)};
      const out = [];
      for (const [name, k] of Object.entries(backend.backends())) {
        for (const c of cases) {
          const args = c.args.map((a) => a && typeof a === 'object' && 'f32' in a ? new Float32Array(a.f32).fill(7) : a && typeof a === 'object' && 'size' in a ? a.size : a && typeof a === 'object' && 'i32' in a ? Int32Array.from(a.i32) : a);
          const t0 = process.hrtime.bigint();
          let r = 'returned';
          try { k[c.fn](...args); } catch (e) { r = e.constructor.name + ': ' + e.message; }
          const untouched = args.every((a) => !(a instanceof Float32Array) || a.every((x) => x === 7));
          out.push({ backend: name, fn: c.fn, zero: c.zero + ' = 0, ' + c.big + ' = 2^53 - 1', r, untouched, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        }
      }
      console.log(JSON.stringify(out));`;
    const r = runNode(code, {}, { timeout: 30_000 });
    expect(r.signal, `the child was killed (a kernel looped over the huge size?): ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson<{ backend: string; fn: string; zero: string; r: string; untouched: boolean; ms: number }[]>(r);
    expect(out.length).toBe(emptyCases.length * all.length);
    for (const o of out) {
      expect(o.r, `${o.backend} ${o.fn} with ${o.zero}`).toBe('returned');
      expect(o.untouched, `${o.backend} ${o.fn} with ${o.zero} wrote nothing`).toBe(true);
      expect(o.ms, `${o.backend} ${o.fn} with ${o.zero}`).toBeLessThan(1000);
    }
  });
});

describe('the generated native binding', () => {
  it('native/binding/generated.h is what scripts/gen-bindings.mjs makes from the table (npm run gen:bindings)', () => {
    const file = path.join(__dirname, '..', 'native', 'binding', 'generated.h');
    expect(fs.readFileSync(file, 'utf8')).toBe(render(KERNELS));
  });

  it.runIf(backends().native)('the addon exports a function for every kernel in the table', () => {
    for (const name of KERNEL_NAMES)
      expect(typeof (backends().native as unknown as Record<string, unknown>)[name]).toBe('function');
  });
});
