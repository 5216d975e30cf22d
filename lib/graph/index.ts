/** Computational graphs of any node kind (scalar `Value`s, tensors): ordering and drawing. */
export { topologicalOrder } from './topo-sort.js';
export { toDot, toSvg, formatNumber, escapeXml } from './draw.js';
export type { GraphNode, DrawOptions, DotOptions, SvgOptions } from './draw.js';
