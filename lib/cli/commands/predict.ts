/** `nodegrad predict`: the class and its probability for each row of a CSV file. */
import * as fs from 'node:fs';
import { Tensor, loadModel, predict } from '../../index.js';
import { readTextFile } from '../../io/read.js';
import { cellValue, isHeaderLine } from '../../data/csv.js';
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { CliError, type Out, requireFile } from '../io.js';
import { BACKEND_OPTIONS, applyBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'predict',
  summary:
    'Predicts the class of each row of a CSV file: one sample a line, its features in the units of\n' +
    'the data set (digits 0..16, image pixels 0..255), optionally followed by the label; a header\n' +
    'line (one without numbers, or any first line with --header) is skipped. Prints the class (and its name), and its probability, one line a row.',
  usage: 'nodegrad predict --model FILE --input FILE.csv|- [options]',
  options: [
    { name: 'model', type: 'string', arg: 'FILE', help: 'the model file (required)' },
    { name: 'input', type: 'string', arg: 'FILE', help: "CSV rows to classify, '-' for stdin (required)" },
    ...BACKEND_OPTIONS,
    {
      name: 'header',
      type: 'boolean',
      negatable: true,
      help: 'the first line names the columns',
      defaultText: 'when none of its cells is a number',
    },
    { name: 'json', type: 'boolean', help: 'one JSON object a row' },
  ],
  examples: ['zcat data/digits.csv.gz | head -5 | nodegrad predict --model model.safetensors --input -'],
};

/**
 * Rows of numbers, blank lines skipped. The first line is a header when `header` says so, or by
 * default when none of its cells is a number; any other cell that is not a float32 number is an
 * error naming its line and column.
 */
function parseRows(text: string, name: string, header: boolean | undefined): { rows: number[][]; lines: number[] } {
  const rows: number[][] = [];
  const lines: number[] = [];
  const all = text.split(/\r?\n/);
  let first = true;
  for (let i = 0; i < all.length; i++) {
    const line = all[i].trim();
    if (line === '') continue;
    const cells = line.split(',');
    if (first) {
      first = false;
      if (header ?? isHeaderLine(cells, name, i + 1, '--header')) continue;
    }
    rows.push(cells.map((c, j) => cellValue(c, name, i + 1, j + 1)));
    lines.push(i + 1);
  }
  return { rows, lines };
}

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  const file = o.model as string | undefined;
  const input = o.input as string | undefined;
  if (file === undefined) throw new UsageError('missing --model FILE', 'predict');
  if (input === undefined) throw new UsageError('missing --input FILE (a CSV file, or - for stdin)', 'predict');
  requireFile(file, 'the --model file');
  if (input !== '-') requireFile(input, 'the --input file');
  applyBackend(o);
  const model = loadModel(file);
  const p = model.preprocessor;
  const d = p?.features ?? firstLayerInputs(model);
  if (p === undefined) {
    out.note(
      `nodegrad: warning: ${file} records no preprocessing, so the rows go to the model as they are; if it was trained on scaled or standardised features, save it with save(model, file, { preprocess })`,
    );
  }

  const name = input === '-' ? 'stdin' : input;
  const text = input === '-' ? (out.io.readStdin ?? (() => fs.readFileSync(0, 'utf8')))() : readTextFile(input);
  const { rows, lines } = parseRows(text, name, o.header as boolean | undefined);
  if (rows.length === 0) throw new CliError(`${name}: no rows to predict`);
  const units = new Float64Array(rows.length * d);
  const labels: (number | null)[] = [];
  rows.forEach((r, i) => {
    if (r.length !== d && r.length !== d + 1) {
      throw new CliError(
        `${name}: line ${lines[i]} has ${r.length} values; the model takes ${d} features (or ${d} then a label)`,
      );
    }
    for (let j = 0; j < d; j++) units[i * d + j] = r[j];
    labels.push(r.length === d + 1 ? r[d] : null);
  });
  // The rows are in the data set's units (pixels 0..255); predict() takes features (pixels 0..1).
  const x = p ? p.fromUnits(units) : Float32Array.from(units);
  const logits = predict(model, new Tensor(x, [rows.length, d]));
  const c = logits.shape[1];
  const names = p?.classNames;
  let correct = 0;
  let labelled = 0;
  for (let i = 0; i < rows.length; i++) {
    const z = logits.data.subarray(i * c, (i + 1) * c);
    let best = 0;
    for (let k = 1; k < c; k++) if (z[k] > z[best]) best = k;
    // softmax probability of the arg max: 1 / sum_k exp(z_k - z_best), stable.
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(z[k] - z[best]);
    const prob = 1 / sum;
    const cname = names?.[best];
    const label = labels[i];
    if (label !== null) {
      labelled++;
      if (label === best) correct++;
    }
    if (o.json === true) {
      out.json({
        row: i + 1,
        class: best,
        name: cname ?? null,
        probability: prob,
        ...(label !== null ? { label } : {}),
      });
    } else {
      const named = cname !== undefined && cname !== String(best) ? ` ${cname}` : '';
      const lab = label !== null ? `  (label ${label}${label === best ? '' : ', wrong'})` : '';
      out.line(`${best}${named}  ${prob.toFixed(4)}${lab}`);
    }
  }
  if (labelled > 0 && o.json !== true) out.note(`${correct}/${labelled} rows match their label`);
  return 0;
}

function firstLayerInputs(model: ReturnType<typeof loadModel>): number {
  const first = model.namedParameters().find(([, t]) => t.shape.length === 2);
  if (!first) throw new CliError('the model has no Linear layer');
  return first[1].shape[1];
}
