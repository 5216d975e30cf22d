// CSV data sets: one sample a record, every feature cell a number, one column the target: an
// integer class label, a class name, or a float (regression). Records are split by csv-parse
// (RFC 4180: quoted fields with delimiters, quotes and line breaks, CRLF, a BOM); this file
// gives the cells their meaning and the errors their line and column.

import { parse as parseRecords } from 'csv-parse/sync';
import { Dataset, type Task } from './dataset.js';
import { readMaybeGzip } from './files.js';
import { checkOptions, optionKeys } from '../options.js';

/** Options of loadCsv() and parseCsv(). */
export interface CsvOptions {
  /**
   * The label column: an index (negative counts from the end) or, with a header, a column
   * name. Default -1, the last column.
   */
  labelColumn?: number | string;
  /**
   * Whether the first line names the columns; 'auto' (default): when none of its non-empty cells
   * is a number (a line mixing numbers and text is refused, naming the cell).
   */
  header?: 'auto' | boolean;
  /** Default ','. */
  delimiter?: string;
  /** Default max(label) + 1, or classNames.length. */
  numClasses?: number;
  /**
   * What the label column holds: 'classification' (integer labels >= 0, or class names), 'regression' (float
   * targets), or 'auto' (inferred, see inferTask: names or few distinct integers classify, other numbers
   * regress). @defaultValue 'classification'
   */
  task?: Task | 'auto';
  /**
   * Names of the classes, index = label; when the label column holds these names rather than integers, they are mapped
   * to their indices.
   */
  classNames?: readonly string[];
  /** The shape of one sample (product = number of feature columns); default [features]. */
  shape?: readonly number[];
  /**
   * The most loadCsv reads from the file, and decompresses from a gzipped one: default
   * 512 MiB (about the longest string JavaScript can hold).
   */
  maxBytes?: number;
}
export const CSV_KEYS = optionKeys<CsvOptions>()(
  'labelColumn',
  'header',
  'delimiter',
  'numClasses',
  'classNames',
  'shape',
  'maxBytes',
  'task',
);

/**
 * Reads a CSV file (gzipped or not, detected by its magic bytes) into a Dataset. Refuses a file
 * that is not regular, or that holds or decompresses to more than `maxBytes`.
 */
export function loadCsv(file: string, options: CsvOptions = {}): Dataset {
  return loadCsvTable(file, options).dataset;
}

/** loadCsv() with what it found out: the column names, the target column and how the task was chosen. */
export function loadCsvTable(file: string, options: CsvOptions = {}): CsvTable {
  checkOptions('loadCsv', options, CSV_KEYS);
  return parseCsvTable(readMaybeGzip(file, { maxBytes: options.maxBytes }).toString('utf8'), options, file);
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A cell's text without surrounding blanks and one pair of double quotes. */
function unquote(cell: string): string {
  let s = cell.trim();
  if (s.length >= 2 && s[0] === '"' && s[s.length - 1] === '"') s = s.slice(1, -1).trim();
  return s;
}

function parseCell(cell: string): number {
  const s = unquote(cell);
  return NUMBER.test(s) ? Number(s) : NaN;
}

/**
 * The number in a cell, or an Error naming the file, the 1-based line and column: a cell that
 * is not a number, or that overflows float32 (`1e39`), whose Infinity would make every loss NaN.
 * loadCsv and `nodegrad predict` read their cells through it.
 */
export function cellValue(cell: string, file: string, line: number, column: number): number {
  const v = parseCell(cell);
  if (Number.isNaN(v)) throw new Error(`${file}: line ${line}, column ${column}: '${cell.trim()}' is not a number`);
  if (!Number.isFinite(Math.fround(v))) {
    throw new Error(
      `${file}: line ${line}, column ${column}: '${cell.trim()}' is beyond the float32 range (largest magnitude 3.4028235e38)`,
    );
  }
  return v;
}

/**
 * Whether a first line is a header: only when none of its non-empty cells is a number. A line
 * that mixes numbers and text is a data row with a typo, not a header, and dropping it silently
 * would lose a sample: it is an error naming the first cell that is not a number.
 */
export function isHeaderLine(
  cells: readonly string[],
  file: string,
  line: number,
  howToDeclare = 'header: true',
): boolean {
  let text = -1;
  let numbers = 0;
  for (let c = 0; c < cells.length; c++) {
    if (cells[c].trim() === '') continue;
    if (Number.isNaN(parseCell(cells[c]))) {
      if (text < 0) text = c;
    } else {
      numbers++;
    }
  }
  if (text < 0) return false;
  if (numbers === 0) return true;
  throw new Error(
    `${file}: line ${line}, column ${text + 1}: '${cells[text].trim()}' is not a number ` +
      `(a header line has no numbers; if this one is a header, say so with ${howToDeclare})`,
  );
}

/** What parseCsvTable() read: the data set and how its target was understood. */
export interface CsvTable {
  /** The samples: features and labels or targets. */
  dataset: Dataset;
  /** The header's names of the columns, or null without a header. */
  columns: string[] | null;
  /** The target column, 0-based. */
  targetColumn: number;
  /** The task, and why (for 'auto': what was inferred from the target column). */
  inference: TaskInference;
}

/** How a target column's task was chosen. */
export interface TaskInference {
  /** 'classification' or 'regression'. */
  task: Task;
  /** Why, in words: 'declared', 'class names', '3 integer classes', 'non-integer values'. */
  reason: string;
  /** Set when the choice is doubtful, e.g. hundreds of distinct integers taken as a regression target. */
  warning?: string;
}

/** Integer targets with more distinct values than this are taken as a regression target by 'auto' (with a warning). */
export const MAX_INFERRED_CLASSES = 50;

/**
 * The task a target column implies: any cell that is not a number makes the column class names;
 * numbers that are not all integers >= 0 make a regression target; integers >= 0 are class labels,
 * unless there are more than MAX_INFERRED_CLASSES distinct values: then a regression target, with a warning
 * (the diabetes data's 214 distinct integer targets are a quantity, not 214 classes).
 */
export function inferTask(cells: readonly string[]): TaskInference {
  const distinct = new Set<number>();
  let integers = true;
  for (const c of cells) {
    const v = parseCell(c);
    if (Number.isNaN(v)) return { task: 'classification', reason: 'class names' };
    if (!Number.isInteger(v) || v < 0) integers = false;
    else distinct.add(v);
  }
  if (!integers) return { task: 'regression', reason: 'non-integer values' };
  if (distinct.size <= MAX_INFERRED_CLASSES)
    return { task: 'classification', reason: `${distinct.size} integer classes` };
  return {
    task: 'regression',
    reason: `${distinct.size} distinct integers`,
    warning:
      `the target holds ${distinct.size} distinct integers, taken as a quantity to regress rather than ` +
      `${distinct.size} classes; declare the task to choose`,
  };
}

/** One record's cells and the 1-based line it starts on. */
export interface CsvRecords {
  /** The records' cells, trimmed, quotes removed. */
  rows: string[][];
  /** The line each record starts on. */
  lines: number[];
}

/**
 * Splits CSV text into records with csv-parse: a BOM dropped, CRLF, LF or CR line ends, blank
 * lines skipped, cells trimmed, quoted cells may hold the delimiter, doubled quotes and line
 * breaks. Malformed quoting is an Error naming `file` and the line.
 */
export function readCsvRecords(text: string, delimiter: string, file: string): CsvRecords {
  if (delimiter.length === 0) throw new RangeError('delimiter must not be empty');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // info: true makes each record { record, info }, which the typings' overloads do not express.
    records = parseRecords(text, {
      bom: true,
      delimiter,
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      info: true,
    }) as unknown as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new Error(`${file}: line ${err.lines ?? '?'}: ${err.message.replace(/ at line \d+/, '')}`);
  }
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const { record, info } of records) {
    // csv-parse counts the line a record ends on; a quoted line break moves the start back.
    let breaks = 0;
    for (const c of record) for (const ch of c) if (ch === '\n') breaks++;
    rows.push(record);
    lines.push(info.lines - breaks);
  }
  return { rows, lines };
}

/** Parses CSV text; `file` names it in errors, which give the 1-based line and column. */
export function parseCsv(text: string, options: CsvOptions = {}, file = 'CSV data'): Dataset {
  return parseCsvTable(text, options, file).dataset;
}

/** parseCsv() with the column names, the target column and the task's inference. */
export function parseCsvTable(text: string, options: CsvOptions = {}, file = 'CSV data'): CsvTable {
  checkOptions('parseCsv', options, CSV_KEYS);
  const { rows, lines } = readCsvRecords(text, options.delimiter ?? ',', file);
  if (rows.length === 0) throw new Error(`${file}: empty CSV (no rows)`);
  const firstCells = rows[0];
  const cols = firstCells.length;
  const lc = options.labelColumn ?? -1;
  if (typeof lc !== 'string' && (!Number.isInteger(lc) || lc < -cols || lc >= cols)) {
    throw new RangeError(`${file}: labelColumn ${lc} is out of range for ${cols} columns`);
  }
  // A class name in the first row's label cell does not make it a header: only the features count.
  const byIndex = typeof lc === 'string' ? -1 : lc < 0 ? cols + lc : lc;
  const header =
    options.header === 'auto' || options.header === undefined
      ? isHeaderLine(
          firstCells.map((c, i) => (i === byIndex ? '' : c)),
          file,
          lines[0],
        )
      : options.header;
  const names = header ? firstCells : null;

  let label: number;
  if (typeof lc === 'string') {
    if (names === null) throw new Error(`${file}: labelColumn '${lc}' is a name, but the CSV has no header line`);
    label = names.indexOf(lc);
    if (label < 0) throw new Error(`${file}: no column named '${lc}' in the header (${names.join(', ')})`);
  } else {
    label = byIndex;
  }
  if (cols < 2)
    throw new Error(`${file}: a CSV needs at least 2 columns (features and a label), line ${lines[0]} has ${cols}`);

  const start = header ? 1 : 0;
  const n = rows.length - start;
  if (n === 0) throw new Error(`${file}: empty CSV (no data rows${header ? ' after the header' : ''})`);
  const d = cols - 1;
  const x = new Float32Array(n * d);
  const targetCells: string[] = [];
  for (let r = start; r < rows.length; r++) {
    const cells = rows[r];
    if (cells.length !== cols) {
      throw new Error(`${file}: line ${lines[r]} has ${cells.length} columns, expected ${cols} (ragged rows)`);
    }
    let k = (r - start) * d;
    for (let c = 0; c < cols; c++) {
      if (c === label) targetCells.push(cells[c]);
      else x[k++] = cellValue(cells[c], file, lines[r], c + 1);
    }
  }
  const task = options.task ?? 'classification';
  if (task !== 'auto' && task !== 'classification' && task !== 'regression')
    throw new RangeError(`task must be 'classification', 'regression' or 'auto', got ${String(task)}`);
  const inference: TaskInference = task === 'auto' ? inferTask(targetCells) : { task, reason: 'declared' };
  const where = (i: number) => ({ line: lines[start + i], column: label + 1 });
  const dataset =
    inference.task === 'regression'
      ? regressionSet(x, d, targetCells, file, where, options)
      : classificationSet(x, d, targetCells, file, where, options);
  return { dataset, columns: names, targetColumn: label, inference };
}

type Where = (i: number) => { line: number; column: number };

function regressionSet(
  x: Float32Array,
  d: number,
  cells: string[],
  file: string,
  where: Where,
  options: CsvOptions,
): Dataset {
  if (options.numClasses !== undefined || options.classNames !== undefined)
    throw new RangeError(`${file}: numClasses and classNames are for a classification target, not regression`);
  const targets = Float32Array.from(cells, (c, i) => cellValue(c, file, where(i).line, where(i).column));
  return new Dataset({ x, targets, features: d, shape: options.shape });
}

/** Integer labels as they are, or class names mapped to indices (given classNames, else sorted as scikit-learn's LabelEncoder). */
function classificationSet(
  x: Float32Array,
  d: number,
  cells: string[],
  file: string,
  where: Where,
  options: CsvOptions,
): Dataset {
  const given = options.classNames;
  const byName = given !== undefined || cells.some((c) => Number.isNaN(parseCell(c)));
  let classNames = given;
  if (byName && given === undefined) classNames = [...new Set(cells.map(unquote))].sort();
  const index = new Map(classNames?.map((name, i) => [name, i]));
  const y = new Int32Array(cells.length);
  for (let i = 0; i < cells.length; i++) {
    const name = unquote(cells[i]);
    const known = index.get(name);
    if (known !== undefined) {
      y[i] = known;
      continue;
    }
    const { line, column } = where(i);
    const v = parseCell(cells[i]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new Error(
        given !== undefined && Number.isNaN(v)
          ? `${file}: line ${line}, column ${column}: label '${name}' is not one of the classNames`
          : `${file}: line ${line}, column ${column}: label '${name}' is not an integer >= 0`,
      );
    }
    y[i] = v;
  }
  const numClasses = options.numClasses ?? classNames?.length;
  if (numClasses !== undefined) {
    for (let i = 0; i < y.length; i++) {
      if (y[i] >= numClasses)
        throw new Error(`${file}: label ${y[i]} in data row ${i + 1} is >= numClasses = ${numClasses}`);
    }
  }
  return new Dataset({ x, y, features: d, shape: options.shape, numClasses, classNames });
}
