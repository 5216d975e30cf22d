'use strict';
// The verdict of scripts/test-prebuild-*.sh on a cross-built prebuild run in its own platform's
// Node: the kernel checks (test/fixtures/smoke.cjs) on each SIMD path, and the training run
// (scripts/prebuild-train.js) against the same run on the host's TypeScript backend.
//
//   node scripts/check-prebuild.js <platform> <best simd> <ts run> <prebuild run> <simd>=<smoke>...
//
// <platform> is e.g. win32-x64; <best simd> the path the prebuild must choose by itself (the
// training run uses it); each <simd>=<smoke> is smoke.cjs's JSON from a run on that path. Exits 1
// with every problem listed.
const [platform, best, tsJson, trainJson, ...smokeArgs] = process.argv.slice(2);
const ts = JSON.parse(tsJson);
const train = JSON.parse(trainJson);
const problems = [];
const prebuildPath = new RegExp(`prebuilds[\\\\/]${platform}[\\\\/]nodegrad\\.node$`);

for (const arg of smokeArgs) {
  const eq = arg.indexOf('=');
  const simd = arg.slice(0, eq);
  const smoke = JSON.parse(arg.slice(eq + 1));
  const where = `kernels (${simd})`;
  problems.push(...smoke.failures.map((f) => `${where}: ${f}`));
  if (!prebuildPath.test(smoke.path)) problems.push(`${where}: loaded ${smoke.path}, not the prebuild`);
  if (smoke.simd !== simd) problems.push(`${where}: ran on ${smoke.simd}`);
  // The bounds test/workers.test.ts puts on the same checks.
  if (!(smoke.gemmErr < 5e-5)) problems.push(`${where}: gemm error ${smoke.gemmErr} >= 5e-5`);
  if (!(smoke.probErr < 1e-6)) problems.push(`${where}: softmax probs error ${smoke.probErr} >= 1e-6`);
  if (!(smoke.lossErr < 1e-5)) problems.push(`${where}: cross-entropy loss relative error ${smoke.lossErr} >= 1e-5`);
}
if (smokeArgs.length === 0) problems.push('no kernel checks were run');

if (train.platform !== platform || train.backend !== 'native' || train.simd !== best) {
  problems.push(
    `training ran on ${train.platform} ${train.backend} ${train.simd}, expected ${platform} native ${best}`,
  );
}
// docs/GUARANTEES.md: |native - ts| <= 1e-5 + 1e-4 |ts|.
for (const key of ['loss', 'valLoss']) {
  if (train[key].length !== ts[key].length) problems.push(`${key}: ${train[key].length} epochs vs ${ts[key].length}`);
  ts[key].forEach((want, i) => {
    const got = train[key][i];
    if (!(Math.abs(got - want) <= 1e-5 + 1e-4 * Math.abs(want))) {
      problems.push(`${key}[${i}]: ${platform} ${got}, ts ${want}`);
    }
  });
}
if (problems.length > 0) {
  console.error(`check-prebuild ${platform}: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
