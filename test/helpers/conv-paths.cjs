// Child process of test/conv-paths.test.ts: runs the native conv2d kernels on fixed shapes and
// prints the results as JSON (base64 of the float32 bytes), so the parent can compare a run on
// the default paths with one forced onto im2col (NODEGRAD_CONV_IM2COL=1, read once at load).
'use strict';
const path = require('node:path');
const { backends } = require(path.join(__dirname, '..', '..', 'dist', 'backend', 'index.js'));
const K = backends().native;
if (K === undefined) throw new Error('no native backend');
const shapes = JSON.parse(process.argv[2]);
let seed = 7;
function rnd() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648 - 0.5;
}
function fill(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd();
  return a;
}
const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const out = [];
for (const [N, G, Cg, H, W, Kg, kH, kW, sH, sW, pH, pW, dH, dW] of shapes) {
  const Ho = Math.floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1;
  const Wo = Math.floor((W + 2 * pW - dW * (kW - 1) - 1) / sW) + 1;
  const sizes = [N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, sH, sW, pH, pW, dH, dW];
  const x = fill(N * G * Cg * H * W);
  const w = fill(G * Kg * Cg * kH * kW);
  const b = fill(G * Kg);
  const dy = fill(N * G * Kg * Ho * Wo);
  const y = new Float32Array(dy.length);
  const dx = fill(x.length); // accumulated into
  const dwt = fill(w.length); // accumulated into
  const db = new Float32Array(b.length);
  K.conv2d(x, w, b, ...sizes, true, true, y);
  K.conv2dBackwardInput(dy, w, ...sizes, true, dx);
  K.conv2dBackwardParams(dy, x, ...sizes, true, true, false, dwt, db);
  out.push({ y: b64(y), dx: b64(dx), dw: b64(dwt), db: b64(db) });
}
process.stdout.write(JSON.stringify(out));
