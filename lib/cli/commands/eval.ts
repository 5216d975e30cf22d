/** `nodegrad eval`: a saved model's figures (accuracy and confusion matrix, or R^2, MAE, RMSE) on a data set's test split. */
import { evaluate, loadModel } from '../../index.js';
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { CliError, type Out, int, requireFile } from '../io.js';
import { CSV_OPTIONS, DATA_HELP, csvChoice, loadSplits, parseDataSpec, readRunMeta } from '../data.js';
import { describeModel } from '../model.js';
import { confusionTable, headline, metricsJson } from '../report.js';
import { BACKEND_OPTIONS, applyBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'eval',
  summary:
    "Evaluates a model saved by 'nodegrad train' on the test split of a data set, with the\npreprocessing saved in the model file.",
  usage: 'nodegrad eval --model FILE [--data SPEC] [options]',
  options: [
    { name: 'model', type: 'string', arg: 'FILE', help: 'the model file (required)' },
    { name: 'data', type: 'string', arg: 'SPEC', help: DATA_HELP, defaultText: 'the data set it was trained on' },
    {
      name: 'limit',
      type: 'int',
      min: 1,
      arg: 'N',
      help: 'use only the first N samples of each data file',
      defaultText: 'as in training',
    },
    ...CSV_OPTIONS.filter((opt) => opt.name !== 'task'),
    ...BACKEND_OPTIONS,
    { name: 'json', type: 'boolean', help: 'one JSON line (with the confusion matrix for a classifier)' },
  ],
  examples: [
    'nodegrad eval --model model.safetensors',
    'nodegrad eval --model fashion.safetensors --data fashion-mnist:DIR',
  ],
};

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  const file = o.model as string | undefined;
  if (file === undefined) throw new UsageError('missing --model FILE', 'eval');
  requireFile(file, 'the --model file');
  const meta = readRunMeta(file);
  const dataText = (o.data as string | undefined) ?? meta.data;
  if (dataText === undefined) throw new UsageError(`${file} does not record its data set: pass --data SPEC`, 'eval');
  const data = parseDataSpec(dataText, 'eval');
  applyBackend(o);
  const model = loadModel(file);
  // Without its preprocessing the model would be fed unstandardised features: refuse, not guess.
  if (model.preprocessor === undefined) {
    throw new CliError(
      `${file}: no preprocessing in the metadata, so the model's inputs are unknown; save it with save(model, file, { preprocess })`,
    );
  }
  const limit = (o.limit as number | undefined) ?? (o.data === undefined ? meta.limit : undefined);
  // The task is the model's; the target column and header as given, else as in training.
  const sameData = o.data === undefined;
  const choice = csvChoice(o, data, 'eval');
  const splits = loadSplits(data, limit, {
    target: choice.target ?? (sameData ? meta.target : undefined),
    header: choice.header ?? (sameData ? meta.header : undefined),
    ...(data.kind === 'csv' ? { task: model.preprocessor.task } : {}),
  });
  const test = splits.test;
  const r = evaluate(model, test);
  if (o.json === true) {
    out.json({
      event: 'eval',
      model: file,
      data: data.text,
      ...metricsJson(r),
      testSamples: test.length,
    });
  } else {
    out.line(`model    ${file} (${describeModel(model)})`);
    out.line(`data     ${splits.name}: ${int(test.length)} test samples (${splits.testSource})`);
    out.line(headline(r, test.length));
    const table = confusionTable(r, model.preprocessor.classNames);
    if (table.length > 0) out.line(['', ...table].join('\n'));
  }
  return 0;
}
