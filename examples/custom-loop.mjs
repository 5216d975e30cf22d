// A classification training loop written out, for when fit() is not enough: mini-batches from a
// DataLoader, forward, loss, backward, an optimizer step, a learning-rate schedule per epoch, and
// evaluation in eval mode. This is what fit() does, minus its progress bar and callbacks.
//
//   node custom-loop.mjs          EXAMPLE_QUICK=1 node custom-loop.mjs   (2 epochs: what CI runs)
import * as ng from 'nodegrad';

const quick = process.env.EXAMPLE_QUICK === '1';
const epochs = quick ? 2 : 20;

ng.manualSeed(0);
const { train, validation, test } = ng.trainValTestSplit(ng.loadDigits(), { validation: 0.1, test: 0.2, seed: 42 });
const model = new ng.nn.Sequential(
  new ng.nn.Linear(64, 128),
  new ng.nn.ReLU(),
  new ng.nn.Dropout(0.1),
  new ng.nn.Linear(128, 10),
);
const optimizer = new ng.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const scheduler = new ng.optim.lrScheduler.CosineAnnealingLR(optimizer, { tMax: epochs });
const loader = new ng.DataLoader(train, { batchSize: 32, shuffle: true, seed: 1 });

for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train(); // Dropout active
  let lossSum = 0;
  let batches = 0;
  for (const batch of loader) {
    const x = new ng.Tensor(batch.x, [batch.size, train.features]);
    const loss = ng.softmaxCrossEntropy(model.forward(x), batch.y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    lossSum += loss.item();
    batches++;
  }
  scheduler.step();
  model.eval(); // Dropout off to measure
  const val = ng.evaluate(model, validation);
  const lr = optimizer.paramGroups[0].lr;
  console.log(`epoch ${epoch}  loss ${(lossSum / batches).toFixed(4)}  val_acc ${(100 * val.accuracy).toFixed(2)}%  lr ${lr.toFixed(4)}`);
}
console.log(`test accuracy ${(100 * ng.evaluate(model, test).accuracy).toFixed(2)}%`);
