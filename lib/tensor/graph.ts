/**
 * Building the graph: grad mode, and the output of every op. An op whose inputs need gradients
 * (and that runs with grad mode on) records its inputs in `parents` and, right beside its
 * forward code, a closure applying the chain rule (walked by backward.ts).
 */
import { Tensor, type BackwardFn } from './tensor.js';
import { saveVersions } from './version.js';

let gradEnabled = true;

/** Whether ops currently record the graph (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs fn without building any graph: ops inside return tensors that do not require grad.
 * Nests, and restores the previous mode even when fn throws. fn must be synchronous (the mode
 * is restored when fn returns, not when a promise it returns settles).
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Builds an op's output tensor. When grad mode is on and some parent requires grad, the
 * output requires grad, records `op` and `parents`, and keeps `backwardFn`; otherwise the
 * output is a plain leaf and backwardFn is dropped. This is also the mechanism for custom ops:
 * backwardFn receives the output's gradient and calls `accumulateGrad`/`gradTarget` for each
 * parent that requires grad.
 *
 * `saved` lists the inputs' buffers (data, labels) that backwardFn reads: their versions are
 * taken now and checked before backwardFn runs, so a buffer changed in place in between (a
 * DataLoader's next batch, an optimizer step) is an error rather than a wrong gradient. The
 * op's own output and buffers it made itself need no entry.
 */
export function makeResult(
  data: Float32Array,
  shape: readonly number[],
  op: string,
  parents: Tensor[],
  backwardFn: BackwardFn,
  saved?: readonly ArrayBufferView[],
): Tensor {
  const out = new Tensor(data, shape);
  if (gradEnabled) {
    for (let i = 0; i < parents.length; i++) {
      if (parents[i].requiresGrad) {
        out.requiresGrad = true;
        out.op = op;
        out.parents = parents;
        out._backward = backwardFn;
        if (saved !== undefined && saved.length > 0) {
          out._saved = saved;
          out._savedVersions = saveVersions(saved);
        }
        break;
      }
    }
  }
  return out;
}

/** Whether an op on these inputs records the graph (grad mode on and an input requires grad). */
export function needsGrad(a: Tensor, b?: Tensor | null, c?: Tensor | null): boolean {
  return gradEnabled && (a.requiresGrad || b?.requiresGrad === true || c?.requiresGrad === true);
}
