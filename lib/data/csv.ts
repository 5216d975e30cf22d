// Numeric CSV: one sample a line, every cell a number, one column the integer class label.
// Plain delimited text: a cell may be wrapped in double quotes, but quoted delimiters and
// line breaks inside cells are not supported.

import { Dataset } from './dataset.js';
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
);

/**
 * Reads a CSV file (gzipped or not, detected by its magic bytes) into a Dataset. Refuses a file
 * that is not regular, or that holds or decompresses to more than `maxBytes`.
 */
export function loadCsv(file: string, options: CsvOptions = {}): Dataset {
  checkOptions('loadCsv', options, CSV_KEYS);
  return parseCsv(readMaybeGzip(file, { maxBytes: options.maxBytes }).toString('utf8'), options, file);
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

/** Parses CSV text; `file` names it in errors, which give the 1-based line and column. */
export function parseCsv(text: string, options: CsvOptions = {}, file = 'CSV data'): Dataset {
  checkOptions('parseCsv', options, CSV_KEYS);
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length === 0) throw new RangeError('delimiter must not be empty');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[0].charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1); // BOM
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first === lines.length) throw new Error(`${file}: empty CSV (no rows)`);

  const firstCells = lines[first].split(delimiter);
  const cols = firstCells.length;
  const header =
    options.header === 'auto' || options.header === undefined
      ? isHeaderLine(firstCells, file, first + 1)
      : options.header;
  const names = header ? firstCells.map((c) => c.trim().replace(/^"(.*)"$/, '$1')) : null;

  let label: number;
  const lc = options.labelColumn ?? -1;
  if (typeof lc === 'string') {
    if (names === null) throw new Error(`${file}: labelColumn '${lc}' is a name, but the CSV has no header line`);
    label = names.indexOf(lc);
    if (label < 0) throw new Error(`${file}: no column named '${lc}' in the header (${names.join(', ')})`);
  } else {
    if (!Number.isInteger(lc) || lc < -cols || lc >= cols) {
      throw new RangeError(`${file}: labelColumn ${lc} is out of range for ${cols} columns`);
    }
    label = lc < 0 ? cols + lc : lc;
  }
  if (cols < 2)
    throw new Error(`${file}: a CSV needs at least 2 columns (features and a label), line ${first + 1} has ${cols}`);

  const d = cols - 1;
  const maxRows = lines.length - first - (header ? 1 : 0);
  const x = new Float32Array(maxRows * d);
  const yAll = new Int32Array(maxRows);
  let n = 0;
  for (let li = header ? first + 1 : first; li < lines.length; li++) {
    const line = lines[li];
    if (line.trim() === '') continue;
    const cells = line.split(delimiter);
    if (cells.length !== cols) {
      throw new Error(`${file}: line ${li + 1} has ${cells.length} columns, expected ${cols} (ragged rows)`);
    }
    let k = n * d;
    for (let c = 0; c < cols; c++) {
      const v = cellValue(cells[c], file, li + 1, c + 1);
      if (c === label) {
        if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
          throw new Error(
            `${file}: line ${li + 1}, column ${c + 1}: label '${cells[c].trim()}' is not an integer >= 0`,
          );
        }
        yAll[n] = v;
      } else {
        x[k++] = v;
      }
    }
    n++;
  }
  if (n === 0) throw new Error(`${file}: empty CSV (no data rows${header ? ' after the header' : ''})`);
  const numClasses = options.numClasses ?? options.classNames?.length;
  if (numClasses !== undefined) {
    for (let i = 0; i < n; i++) {
      if (yAll[i] >= numClasses)
        throw new Error(`${file}: label ${yAll[i]} in data row ${i + 1} is >= numClasses = ${numClasses}`);
    }
  }
  return new Dataset({
    x: x.slice(0, n * d),
    y: yAll.slice(0, n),
    features: d,
    shape: options.shape,
    numClasses,
    classNames: options.classNames,
  });
}
