// This machine's physical limits, measured once per bench run, so other benchmarks can say how
// far a result is from them: the FP32 FMA peak and the memory bandwidth (STREAM triad), on one
// thread and on all of them. bench/machine-probe.cc (the same measurement as
// ../shared/anchors/peak_fma512.cpp and stream.cpp, for whichever of AVX-512, AVX2 + FMA, NEON
// or scalar the host compiler targets with -march=native) is compiled with the host's C++
// compiler ($CXX or g++) into build/machine-probe-<hash of source and flags>, so it is rebuilt
// only when either changes.
//
// Usage: import { measureMachine } from './machine.mjs';
//   measureMachine() -> { isa, threads, peakGflops: { 1: x, [threads]: y },
//                         bandwidthGBs: { 1: x, [threads]: y } }  or null (no compiler; says why)
// node bench/machine.mjs [--threads N] prints the figures as a table.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.join(here, 'machine-probe.cc');
const BUILD = path.join(here, '..', 'build');

const log = (...a) => console.error('[machine]', ...a);

/** The probe's path, compiled if needed; null (with a message) when no compiler works. */
function probeBinary() {
  const cxx = process.env.CXX || 'g++';
  const flags = ['-O3', '-march=native', '-pthread', '-std=c++17'];
  const src = fs.readFileSync(SOURCE);
  const hash = createHash('sha256').update(src).update(cxx).update(flags.join(' ')).digest('hex').slice(0, 16);
  const bin = path.join(BUILD, `machine-probe-${hash}${process.platform === 'win32' ? '.exe' : ''}`);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(BUILD, { recursive: true });
  const r = spawnSync(cxx, [...flags, SOURCE, '-o', bin], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(
      `cannot compile the peak/bandwidth probe with ${cxx} (${r.error ? r.error.message : (r.stderr || '').split('\n').slice(0, 2).join(' | ')}): machine limits are skipped`,
    );
    return null;
  }
  return bin;
}

/**
 * Measures the FP32 FMA peak (GFLOPS) and the STREAM-triad bandwidth (GB/s) on 1 and `threads`
 * threads (default: the cores this process may use). Takes ~2 s. Returns null when the probe
 * cannot be built or run.
 */
export function measureMachine({ threads = os.availableParallelism?.() ?? os.cpus().length, seconds = 0.15 } = {}) {
  const bin = probeBinary();
  if (!bin) return null;
  const r = spawnSync(bin, [String(threads), String(seconds)], { encoding: 'utf8', timeout: 120_000 });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    log(`the probe failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}): machine limits are skipped`);
    return null;
  }
  const p = JSON.parse(line);
  return {
    isa: p.isa,
    threads: p.threads,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    peakGflops: { 1: p.peak1, [p.threads]: p.peakT },
    bandwidthGBs: { 1: p.triad1, [p.threads]: p.triadT },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--threads');
  const m = measureMachine(i > 0 ? { threads: Number(process.argv[i + 1]) } : {});
  if (m) {
    console.log(`${os.cpus()[0]?.model ?? 'cpu'}, probe ${m.isa}, load ${m.loadavg.join(' ')}\n`);
    console.log('| threads | FP32 FMA peak, GFLOPS | STREAM triad, GB/s |\n| ---: | ---: | ---: |');
    for (const t of Object.keys(m.peakGflops))
      console.log(`| ${t} | ${m.peakGflops[t].toFixed(1)} | ${m.bandwidthGBs[t].toFixed(1)} |`);
  }
}
