// The native convolution's two paths: stride-1 convolutions run on the shifted-rows path
// (native/kernels/conv.cc: no im2col matrix; the input gradient as a convolution with the
// flipped weights), every other one on im2col + gemm. NODEGRAD_CONV_IM2COL=1 forces im2col, so a
// child process in each mode runs the same kernels on the same inputs and the results compare:
// the forward must give the same bits (same multiply-adds in the same order, only the packing
// differs); the gradients sum in another order, so they agree within float32 rounding of sums
// of up to R or N*Ho*Wo products of numbers in [-0.5, 0.5] (1e-5 relative and absolute is ~10x
// the largest difference seen). Strided shapes take im2col in both runs, so they match exactly.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends } from '../lib/backend/index.js';

// N, G, Cg, H, W, Kg, kH, kW, sH, sW, pH, pW, dH, dW
const SHAPES = [
  [4, 1, 1, 28, 28, 32, 5, 5, 1, 1, 2, 2, 1, 1], // the anchor CNN's first layer
  [4, 1, 32, 14, 14, 64, 5, 5, 1, 1, 2, 2, 1, 1], // and its second
  [3, 2, 3, 9, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1], // groups
  [2, 1, 3, 7, 9, 5, 3, 2, 1, 1, 0, 1, 2, 1], // dilation, asymmetric padding
  [2, 3, 2, 6, 6, 2, 1, 1, 1, 1, 0, 0, 1, 1], // 1x1
  [2, 1, 2, 5, 5, 3, 3, 3, 1, 1, 3, 3, 1, 1], // padding beyond the kernel (input gradient on im2col)
  [1, 1, 2, 4, 30, 7, 2, 3, 1, 1, 1, 0, 1, 2], // wide and flat
  [2, 1, 13, 3, 3, 20, 3, 3, 1, 1, 1, 1, 1, 1], // more channels than positions
  [2, 1, 3, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1], // stride 2: im2col in both runs
];

interface Result {
  y: string;
  dx: string;
  dw: string;
  db: string;
}

function run(forceIm2col: boolean): Result[] {
  const env = { ...process.env };
  if (forceIm2col) env.NODEGRAD_CONV_IM2COL = '1';
  else delete env.NODEGRAD_CONV_IM2COL;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'conv-paths.cjs'), JSON.stringify(SHAPES)], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`conv-paths child failed (${r.status ?? r.signal}): ${r.error ?? r.stderr}`);
  return JSON.parse(r.stdout) as Result[];
}

const floats = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

describe.runIf(backends().native !== undefined)('native conv2d: shifted rows against im2col', () => {
  const fast = run(false);
  const im2col = run(true);
  SHAPES.forEach((shape, i) => {
    it(`shape ${shape.join(',')}`, () => {
      expect(fast[i].y).toBe(im2col[i].y);
      expect(fast[i].db).toBe(im2col[i].db);
      for (const key of ['dx', 'dw'] as const) {
        const a = floats(fast[i][key]);
        const b = floats(im2col[i][key]);
        expect(a.length).toBe(b.length);
        let worst = 0;
        for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]) / (1 + Math.abs(b[j])));
        expect(worst, key).toBeLessThanOrEqual(1e-5);
      }
    });
  });
});
