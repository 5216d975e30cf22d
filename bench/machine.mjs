// This machine's physical limits, measured once per bench run, so other benchmarks can say how
// far a result is from them: the FP32 FMA peak and the memory bandwidth (STREAM triad), on one
// thread and on all of them. bench/machine-probe.cc (the same measurement as
// ../shared/anchors/peak_fma512.cpp and stream.cpp, for whichever of AVX-512, AVX2 + FMA, NEON
// or scalar the host compiler targets with -march=native) is compiled with the host's C++
// compiler ($CXX or g++) into build/machine-probe-<hash of source and flags>, so it is rebuilt
// only when either changes.
//
// Usage: import { measureMachine, mlpStepLimit } from './machine.mjs';
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

/**
 * The step's work of an MLP D-H(ReLU)-C trained with Adam at batch B, from its shapes, and its
 * physical limit on a machine with `peak` GFLOPS and `bw` GB/s: GEMM flops at the FMA peak plus the bytes that must cross the memory bus at
 * STREAM bandwidth, as if the two did not overlap (a step runs them one after the other).
 * - flops (2 per multiply-add): forward x.W1^T (B x D x H) and h.W2^T (B x H x C); backward
 *   dW1 = dh^T.x (H x D x B), dW2 = dlogits^T.h and dh = dlogits.W2 (both B x H x C); no dx
 *   (the input needs no gradient). 4BDH + 6BHC: 209.5 Mflop for 784-256-10 at batch 256.
 * - bytes: Adam reads p, g, m, v and writes p, m, v, 28 bytes per parameter (5.7 MB here); the input
 *   batch is read once, and each activation and activation gradient (h, dh, logits, dlogits,
 *   B x H or B x C floats) is written once and read once (1.9 MB here). Weights and weight gradients
 *   count once, in Adam's traffic.
 * Everything else (bias, ReLU, softmax-CE, packing) is taken as free: the limit is a floor.
 */
export function mlpStepLimit({ B, D, H, C }, peak, bw) {
  const flops = 4 * B * D * H + 6 * B * H * C;
  const params = D * H + H + H * C + C;
  const adamBytes = 28 * params;
  const actBytes = 4 * (B * D + 2 * B * H + 2 * B * H + 4 * B * C);
  const gemmMs = (flops / (peak * 1e9)) * 1e3;
  const memMs = ((adamBytes + actBytes) / (bw * 1e9)) * 1e3;
  return { flops, bytes: adamBytes + actBytes, gemmMs, memMs, ms: gemmMs + memMs };
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
