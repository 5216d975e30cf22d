'use strict';
// A short seeded training run on digits through dist/, for scripts/test-prebuild-*.sh: it runs
// once on the host's TypeScript backend and once in the other platform's Node (arm64 under qemu,
// Windows under wine) on the prebuild, and the two loss curves are compared. Prints one line of JSON.
//
//   NODEGRAD_BACKEND=ts|native node scripts/prebuild-train.js [epochs]
const path = require('node:path');
const ng = require(path.join(__dirname, '..', 'dist', 'index.js'));

const epochs = Number(process.argv[2] || 3);
ng.manualSeed(0);
const { train, validation } = ng.trainValTestSplit(ng.loadDigits(), { validation: 0.2, seed: 42 });
const model = new ng.nn.Sequential(new ng.nn.Linear(64, 64), new ng.nn.ReLU(), new ng.nn.Linear(64, 10));
const optimizer = new ng.optim.Adam(model.parameters(), { lr: 3e-3 });
const history = ng.fit(model, { train, validation, epochs, optimizer, batchSize: 32, seed: 0, progress: false });
const native = ng.backend() === 'native' ? require('node-gyp-build')(path.join(__dirname, '..')) : null;
console.log(
  JSON.stringify({
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    backend: ng.backend(),
    simd: native ? native.simd() : null,
    loss: history.epochs.map((e) => e.loss),
    valLoss: history.epochs.map((e) => e.valLoss),
  }),
);
