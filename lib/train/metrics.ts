/**
 * The figures evaluate() reports, as scikit-learn computes them: for classification the accuracy,
 * per-class precision, recall and F1 (0 where undefined, as zero_division=0), their macro average
 * and the confusion matrix; for regression MAE, RMSE and R^2 (averaged uniformly over outputs).
 * Sums run in double precision so the figures do not depend on the batch size.
 */

/** What evaluate() reports for a classifier. */
export interface ClassificationMetrics {
  /** 'classification'. */
  task: 'classification';
  /** Mean loss over the samples. */
  loss: number;
  /** Fraction of samples whose argmax output is their label, 0..1. */
  accuracy: number;
  /** Per class c: of the samples predicted c, the fraction labelled c (0 when none is predicted c). */
  precision: number[];
  /** Per class c: of the samples labelled c, the fraction predicted c (0 when none is labelled c). */
  recall: number[];
  /** Per class: the harmonic mean of precision and recall (0 when both are 0). */
  f1: number[];
  /** The unweighted mean of the per-class F1 scores. */
  macroF1: number;
  /** confusion[true][predicted]: how many samples of each true class got each prediction. */
  confusion: number[][];
}

/** What evaluate() reports for a regression model. */
export interface RegressionMetrics {
  /** 'regression'. */
  task: 'regression';
  /** Mean loss over the samples. */
  loss: number;
  /** Mean absolute error over every target value. */
  mae: number;
  /** Root of the mean squared error over every target value. */
  rmse: number;
  /**
   * Coefficient of determination, 1 - SS_res / SS_tot per output, averaged over the outputs
   * (scikit-learn's r2_score); an output whose targets are constant counts 1 if predicted exactly, else 0.
   */
  r2: number;
}

/** Counts predictions against labels for classes 0..numClasses-1 into a confusion matrix. */
export function confusionMatrix(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (predicted.length !== labels.length)
    throw new RangeError(
      `predicted and labels must have the same length, got ${predicted.length} and ${labels.length}`,
    );
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predicted[i];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses))
      throw new RangeError(`sample ${i}: label ${t} or prediction ${p} is outside 0..${numClasses - 1}`);
    m[t][p]++;
  }
  return m;
}

/** Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix (loss left to the caller). */
export function classificationMetrics(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): Omit<ClassificationMetrics, 'task' | 'loss'> {
  const confusion = confusionMatrix(predicted, labels, numClasses);
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  let correct = 0;
  for (let c = 0; c < numClasses; c++) {
    const tp = confusion[c][c];
    correct += tp;
    let predictedC = 0;
    let labelledC = 0;
    for (let k = 0; k < numClasses; k++) {
      predictedC += confusion[k][c];
      labelledC += confusion[c][k];
    }
    const p = predictedC === 0 ? 0 : tp / predictedC;
    const r = labelledC === 0 ? 0 : tp / labelledC;
    precision.push(p);
    recall.push(r);
    f1.push(p + r === 0 ? 0 : (2 * p * r) / (p + r));
  }
  const macroF1 = numClasses === 0 ? 0 : f1.reduce((a, b) => a + b, 0) / numClasses;
  return { accuracy: labels.length === 0 ? 0 : correct / labels.length, precision, recall, f1, macroF1, confusion };
}

/** MAE, RMSE and R^2 of N x K predictions against N x K targets (row-major). */
export function regressionMetrics(
  predicted: ArrayLike<number>,
  targets: ArrayLike<number>,
  outputs = 1,
): Omit<RegressionMetrics, 'task' | 'loss'> {
  const total = targets.length;
  if (predicted.length !== total)
    throw new RangeError(`predicted and targets must have the same length, got ${predicted.length} and ${total}`);
  if (!Number.isInteger(outputs) || outputs < 1 || total % outputs !== 0)
    throw new RangeError(`outputs must be an integer >= 1 dividing ${total}, got ${outputs}`);
  if (total === 0) throw new RangeError('regressionMetrics: no samples');
  const n = total / outputs;
  let abs = 0;
  let sq = 0;
  const mean = new Float64Array(outputs);
  for (let i = 0; i < total; i++) {
    const e = predicted[i] - targets[i];
    abs += Math.abs(e);
    sq += e * e;
    mean[i % outputs] += targets[i] / n;
  }
  const ssRes = new Float64Array(outputs);
  const ssTot = new Float64Array(outputs);
  for (let i = 0; i < total; i++) {
    const k = i % outputs;
    ssRes[k] += (predicted[i] - targets[i]) ** 2;
    ssTot[k] += (targets[i] - mean[k]) ** 2;
  }
  let r2 = 0;
  for (let k = 0; k < outputs; k++) r2 += ssTot[k] === 0 ? (ssRes[k] === 0 ? 1 : 0) : 1 - ssRes[k] / ssTot[k];
  return { mae: abs / total, rmse: Math.sqrt(sq / total), r2: r2 / outputs };
}
