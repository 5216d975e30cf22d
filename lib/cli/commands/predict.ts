/** `nodegrad predict`: for each row of a CSV file, the class (its name and probability) or the regression value(s). */
import * as fs from 'node:fs';
import { Tensor, loadModel, predict } from '../../index.js';
import { readTextFile } from '../../io/read.js';
import { cellValue, isHeaderLine, readCsvRecords } from '../../data/csv.js';
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { CliError, type Out, requireFile } from '../io.js';
import { BACKEND_OPTIONS, applyBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'predict',
  summary:
    'Predicts each row of a CSV file: one sample a record, its features in the units of the data\n' +
    'set (digits 0..16, image pixels 0..255), optionally followed by the label or target; a header\n' +
    'line (one whose feature cells are not numbers, or any first line with --header) is skipped.\n' +
    'A classifier prints the class (and its name) and its probability, a regression model its\n' +
    'value(s), one line a row.',
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
 * The records of a CSV (csv-parse: quotes, CRLF, BOM, blank lines), and the line each starts on.
 * The first record is a header when `header` says so, or by default when none of its first
 * `features` cells is a number (a trailing label may be a class name).
 */
function parseRows(
  text: string,
  name: string,
  header: boolean | undefined,
  features: number,
): { rows: string[][]; lines: number[] } {
  const { rows, lines } = readCsvRecords(text, ',', name);
  if (rows.length > 0 && (header ?? isHeaderLine(rows[0].slice(0, features), name, lines[0], '--header'))) {
    rows.shift();
    lines.shift();
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
  const { rows, lines } = parseRows(text, name, o.header as boolean | undefined, d);
  if (rows.length === 0) throw new CliError(`${name}: no rows to predict`);
  const units = new Float64Array(rows.length * d);
  const given: (string | null)[] = [];
  rows.forEach((r, i) => {
    if (r.length !== d && r.length !== d + 1) {
      throw new CliError(
        `${name}: line ${lines[i]} has ${r.length} values; the model takes ${d} features (or ${d} then a label)`,
      );
    }
    for (let j = 0; j < d; j++) units[i * d + j] = cellValue(r[j], name, lines[i], j + 1);
    given.push(r.length === d + 1 ? r[d] : null);
  });
  // The rows are in the data set's units (pixels 0..255); predict() takes features (pixels 0..1).
  const x = p ? p.fromUnits(units) : Float32Array.from(units);
  const outputs = predict(model, new Tensor(x, [rows.length, d]));
  if (p?.task === 'regression') {
    const target = (i: number) => (given[i] === null ? null : cellValue(given[i]!, name, lines[i], d + 1));
    printValues(out, outputs, given.length, target, o.json === true);
  } else printClasses(out, outputs, given, p?.classNames, o.json === true);
  return 0;
}

/** One line a row: the value (values, space-separated, for several outputs), and the error against a given target. */
function printValues(
  out: Out,
  outputs: Tensor,
  rows: number,
  targetOf: (i: number) => number | null,
  json: boolean,
): void {
  const k = outputs.shape[1];
  let absSum = 0;
  let labelled = 0;
  for (let i = 0; i < rows; i++) {
    const v = Array.from(outputs.data.subarray(i * k, (i + 1) * k));
    const target = targetOf(i);
    if (target !== null && k === 1) {
      labelled++;
      absSum += Math.abs(v[0] - target);
    }
    if (json) out.json({ row: i + 1, value: k === 1 ? v[0] : v, ...(target !== null ? { target } : {}) });
    else
      out.line(`${v.map((e) => Number(e.toPrecision(6))).join(' ')}${target !== null ? `  (target ${target})` : ''}`);
  }
  if (labelled > 0 && !json)
    out.note(`mean absolute error ${(absSum / labelled).toPrecision(4)} over ${labelled} rows`);
}

/** One line a row: the class, its name when known, its softmax probability, and whether a given label matches. */
function printClasses(
  out: Out,
  logits: Tensor,
  given: (string | null)[],
  names: readonly string[] | undefined,
  json: boolean,
): void {
  const c = logits.shape[1];
  let correct = 0;
  let labelled = 0;
  for (let i = 0; i < given.length; i++) {
    const z = logits.data.subarray(i * c, (i + 1) * c);
    let best = 0;
    for (let k = 1; k < c; k++) if (z[k] > z[best]) best = k;
    // softmax probability of the arg max: 1 / sum_k exp(z_k - z_best), stable.
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(z[k] - z[best]);
    const prob = 1 / sum;
    const cname = names?.[best];
    const label = labelOf(given[i], names);
    if (label !== null) {
      labelled++;
      if (label === best) correct++;
    }
    if (json) {
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
  if (labelled > 0 && !json) out.note(`${correct}/${labelled} rows match their label`);
}

/** A given label cell as a class index: a class name the model knows, or an integer; null when absent or neither. */
function labelOf(cell: string | null, names: readonly string[] | undefined): number | null {
  if (cell === null) return null;
  const byName = names?.indexOf(cell) ?? -1;
  if (byName >= 0) return byName;
  const v = Number(cell);
  return cell !== '' && Number.isInteger(v) && v >= 0 ? v : null;
}

function firstLayerInputs(model: ReturnType<typeof loadModel>): number {
  const first = model.namedParameters().find(([, t]) => t.shape.length === 2);
  if (!first) throw new CliError('the model has no Linear layer');
  return first[1].shape[1];
}
