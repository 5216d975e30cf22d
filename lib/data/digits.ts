// The bundled digits data set: UCI Optical Recognition of Handwritten Digits, the 1,797-image
// part scikit-learn ships (CC BY 4.0; E. Alpaydin, C. Kaynak, 1998). See data/README.md.

import * as path from 'node:path';
import type { Dataset } from './dataset.js';
import { loadCsv } from './csv.js';
import { checkOptions, optionKeys } from '../options.js';

/** data/digits.csv.gz, found from lib/data (sources) and dist/data (the build) alike. */
export const DIGITS_PATH = path.join(__dirname, '..', '..', 'data', 'digits.csv.gz');

export const DIGITS_KEYS = optionKeys<Parameters<typeof loadDigits>[0]>()('raw');

/**
 * 1,797 8 x 8 images of handwritten digits, 10 classes ('0'..'9'), samples of shape [1, 8, 8].
 * Pixels are counts 0..16; they are scaled to [0, 1] (divided by 16) unless `raw` is true.
 */
export function loadDigits(options: { raw?: boolean } = {}): Dataset {
  checkOptions('loadDigits', options, DIGITS_KEYS);
  const classNames = Array.from({ length: 10 }, (_, i) => String(i));
  const ds = loadCsv(DIGITS_PATH, { header: false, numClasses: 10, classNames, shape: [1, 8, 8] });
  if (!options.raw) {
    const x = ds.x;
    for (let i = 0; i < x.length; i++) x[i] /= 16; // exact: a power of two
  }
  return ds;
}
