export { Value, topologicalOrder } from './value.js';
export type { Operand } from './value.js';
export { parseExpression } from './expr.js';
export { toDot, toSvg, formatNumber, escapeXml } from './draw.js';
export type { GraphNode, DrawOptions, DotOptions, SvgOptions } from './draw.js';
