/** The test figures `train` and `eval` print: the task's headline line, and a classifier's confusion matrix. */
import type { Metrics } from '../index.js';
import { int, pct } from './io.js';

/** `test accuracy 97.2%  loss 0.0912  macro-F1 0.971  (360 samples)` or `test R^2 0.4520  loss ...  MAE 42.1  RMSE 53.0  (...)`. */
export function headline(r: Metrics, samples: number): string {
  const rest =
    r.task === 'classification' ? `macro-F1 ${r.macroF1.toFixed(3)}` : `MAE ${fmt(r.mae)}  RMSE ${fmt(r.rmse)}`;
  const first = r.task === 'classification' ? `test accuracy ${pct(r.accuracy)}` : `test R^2 ${r.r2.toFixed(4)}`;
  return `${first}  loss ${r.loss.toFixed(4)}  ${rest}  (${int(samples)} samples)`;
}

/** The headline figure for a plot title: accuracy or R^2. */
export function shortFigure(r: Metrics): string {
  return r.task === 'classification' ? `test accuracy ${pct(r.accuracy)}` : `test R^2 ${r.r2.toFixed(3)}`;
}

/** The task's figures for --json output. */
export function metricsJson(r: Metrics): Record<string, unknown> {
  if (r.task === 'regression')
    return { task: r.task, testLoss: r.loss, testMae: r.mae, testRmse: r.rmse, testR2: r.r2 };
  return {
    task: r.task,
    testLoss: r.loss,
    testAccuracy: r.accuracy,
    testMacroF1: r.macroF1,
    precision: r.precision,
    recall: r.recall,
    f1: r.f1,
    confusion: r.confusion,
  };
}

/**
 * A classifier's per-class precision/recall/F1 and confusion matrix as a table, rows = true class,
 * columns = predicted class (scikit-learn's layout).
 */
export function confusionTable(r: Metrics, classNames?: readonly string[]): string[] {
  if (r.task !== 'classification') return [];
  const n = r.confusion.length;
  const names = Array.from({ length: n }, (_, c) => classNames?.[c] ?? String(c));
  const nameW = Math.max(5, ...names.map((s) => s.length));
  const cellW = Math.max(4, ...names.map((s) => s.length), ...r.confusion.flat().map((v) => String(v).length));
  const lines = [`${'class'.padEnd(nameW)}  precision  recall  f1`];
  for (let c = 0; c < n; c++) {
    lines.push(
      `${names[c].padEnd(nameW)}  ${r.precision[c].toFixed(3).padStart(9)}  ${r.recall[c].toFixed(3).padStart(6)}  ${r.f1[c].toFixed(3)}`,
    );
  }
  lines.push('', `confusion matrix (rows: true class, columns: predicted)`);
  lines.push(`${''.padEnd(nameW)}  ${names.map((s) => s.padStart(cellW)).join(' ')}`);
  for (let c = 0; c < n; c++) {
    lines.push(`${names[c].padEnd(nameW)}  ${r.confusion[c].map((v) => String(v).padStart(cellW)).join(' ')}`);
  }
  return lines;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}
