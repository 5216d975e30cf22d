/** The scalar autograd engine: `Value`, one number per node, and an infix parser building its graphs. */
export { Value } from './value.js';
export type { Operand } from './value.js';
export { parseExpression } from './expr.js';
