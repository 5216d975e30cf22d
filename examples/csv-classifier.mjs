// A classifier on a CSV file: load it, standardise the features, train with fit(), save the
// model with its preprocessing, load it back and predict classes for raw rows.
//
//   node csv-classifier.mjs [FILE.csv[.gz]]      (default: the digits CSV shipped with nodegrad)
//
// The CSV holds one sample a line: numeric features, then an integer class label in the last
// column (a header line is detected). EXAMPLE_QUICK=1 trains for 2 epochs (what CI runs).
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ng from 'nodegrad';

const quick = process.env.EXAMPLE_QUICK === '1';
const packageDir = path.dirname(createRequire(import.meta.url).resolve('nodegrad/package.json'));
const file = process.argv[2] ?? path.join(packageDir, 'data', 'digits.csv.gz');

ng.manualSeed(0);
const data = ng.loadCsv(file); // labelColumn: -1 (the last) by default; see CsvOptions
const { train, validation, test } = ng.trainValTestSplit(data, { validation: 0.1, test: 0.2, seed: 42 });

// The standardiser is fitted on the training split only, then travels inside the model file.
const pre = ng.Preprocessor.fit(train);
const model = ng.nn.mlp(data.features, [64], data.numClasses);
ng.fit(model, {
  train: pre.transform(train),
  validation: pre.transform(validation),
  epochs: quick ? 2 : 30,
  batchSize: 32, // fit's default is 256, which suits big data sets more than 1,797 digits
  optimizer: new ng.optim.Adam(model.parameters(), { lr: 3e-3 }),
});

const out = path.join(tmpdir(), 'csv-classifier.safetensors');
ng.save(model, out, { preprocess: pre });

// loadModel restores the architecture and the preprocessing: evaluate and predict take raw features.
const loaded = ng.loadModel(out);
const { accuracy } = ng.evaluate(loaded, test);
console.log(`test accuracy ${(100 * accuracy).toFixed(2)}% on ${test.length} samples; model in ${out}`);
const classes = ng.predictClasses(loaded, test);
console.log('first predictions:', Array.from(classes.slice(0, 10)).join(' '));
console.log('true labels:      ', Array.from(test.y.slice(0, 10)).join(' '));
