// Regression on float targets: an MLP learns y = sin(2 x1) + x1 x2 from noisy samples, trained by
// a hand-written loop with mseLoss. fit() and Dataset take integer class labels, so they are for
// classification only until regression lands in them (the next issue); a loop like this one is
// the way to train on float targets until then.
//
//   node regression.mjs          EXAMPLE_QUICK=1 node regression.mjs   (fewer epochs: what CI runs)
import * as ng from 'nodegrad';

const quick = process.env.EXAMPLE_QUICK === '1';
const rng = new ng.Rng(7);
const target = (x1, x2) => Math.sin(2 * x1) + x1 * x2;

function makeData(n) {
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x1 = 3 * rng.uniform() - 1.5;
    const x2 = 3 * rng.uniform() - 1.5;
    x[2 * i] = x1;
    x[2 * i + 1] = x2;
    y[i] = target(x1, x2) + 0.05 * rng.normal();
  }
  return { x, y, n };
}

ng.manualSeed(0);
const train = makeData(2000);
const test = makeData(500);
const model = ng.nn.mlp(2, [64, 64], 1);
const optimizer = new ng.optim.Adam(model.parameters(), { lr: 3e-3 });
const batchSize = 64;
const epochs = quick ? 3 : 60;

const mse = ({ x, y, n }) =>
  ng.noGrad(() => ng.mseLoss(model.forward(new ng.Tensor(x, [n, 2])), new ng.Tensor(y, [n, 1])).item());

model.train();
for (let epoch = 1; epoch <= epochs; epoch++) {
  const order = shuffled(train.n);
  for (let start = 0; start < train.n; start += batchSize) {
    const idx = order.subarray(start, start + batchSize);
    const xb = new Float32Array(idx.length * 2);
    const yb = new Float32Array(idx.length);
    idx.forEach((j, k) => {
      xb[2 * k] = train.x[2 * j];
      xb[2 * k + 1] = train.x[2 * j + 1];
      yb[k] = train.y[j];
    });
    const loss = ng.mseLoss(model.forward(new ng.Tensor(xb, [idx.length, 2])), new ng.Tensor(yb, [idx.length, 1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  }
  if (epoch % 10 === 0 || epoch === epochs) console.log(`epoch ${epoch}  train MSE ${mse(train).toFixed(4)}`);
}
model.eval();
console.log(`test MSE ${mse(test).toFixed(4)} (noise variance 0.0025; predicting the mean gives ${variance(test.y).toFixed(4)})`);
const pred = ng.noGrad(() => model.forward(ng.tensor([[0.5, -1]])).item());
console.log(`f(0.5, -1) = ${pred.toFixed(3)}, true ${target(0.5, -1).toFixed(3)}`);

function shuffled(n) {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function variance(a) {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
}
