/**
 * Plotting: standalone SVG documents as strings, hand-written (no dependencies).
 *
 *   lineChart(spec)                 general line chart (linear or log y, legend, clipping)
 *   trainingPlot(history, opts)     loss + accuracy panels from per-epoch records (training.svg)
 *   lrSweepPlot(runs, opts)         loss curves of a learning-rate sweep, best run highlighted
 */
export {
  lineChart,
  trainingPlot,
  lrSweepPlot,
  niceTicks,
  niceStep,
  ticksWithin,
  logTicks,
  logDomain,
  PALETTE,
} from './chart.js';
export type {
  Series,
  LineChartSpec,
  LegendPosition,
  NiceTicks,
  EpochRecord,
  TrainingPlotOptions,
  LrRun,
  LrSweepOptions,
} from './chart.js';
export { escapeXml, formatTick, formatSci } from './svg.js';
