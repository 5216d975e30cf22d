/**
 * The backward pass: sorts the graph topologically (iteratively, no recursion limit) and walks
 * it in reverse; each closure receives its output's gradient and accumulates (`+=`) into its
 * parents' gradient buffers. Leaves that require grad end up with `grad` holding the sum.
 *
 * Each closure (with whatever it saved: masks, probabilities) is dropped after it runs unless
 * `retainGraph` is set, so a second backward through the same graph throws. Inputs a closure
 * reads that were changed in place since its forward (version.ts) are refused before the walk.
 */
import { topologicalOrder } from '../graph/topo-sort.js';
import { accumulateGrad, currentBuf, releaseBuffer } from './grad-buffers.js';
import { fmtShape } from './shape.js';
import { Tensor } from './tensor.js';
import { checkSavedVersions } from './version.js';

const FREED =
  'backward: the graph was already freed by an earlier backward(); pass { retainGraph: true } to the first ' +
  'backward() to backpropagate through the same graph twice';

/**
 * Backpropagates from root (see the `backward()` method): grad seeds it, null meaning 1 for a
 * one-element root.
 */
export function backward(root: Tensor, grad: Tensor | Float32Array | null, retainGraph: boolean): void {
  if (!root.requiresGrad) {
    throw new Error(
      'backward: tensor does not require grad (no input had requiresGrad, or it was built inside noGrad)',
    );
  }
  let seed: Float32Array;
  if (grad === null) {
    if (root.data.length !== 1) {
      throw new RangeError(
        `backward: grad can be omitted only for one-element tensors, got shape ${fmtShape(root.shape)}`,
      );
    }
    seed = new Float32Array([1]);
  } else {
    const g = grad instanceof Tensor ? grad.data : grad;
    if (!(g instanceof Float32Array)) throw new TypeError('backward: grad must be a Tensor or a Float32Array');
    if (g.length !== root.data.length) {
      throw new RangeError(
        `backward: grad has ${g.length} elements, tensor of shape ${fmtShape(root.shape)} has ${root.data.length}`,
      );
    }
    seed = g.slice();
  }

  const order = topoSort(root);
  for (let i = 0; i < order.length; i++) {
    const t = order[i];
    if (!t.isLeaf && t._backward === null) throw new Error(FREED);
    // Before any gradient is touched, so a refused backward leaves every .grad as it was.
    if (t._saved !== null) checkSavedVersions(t.op, t._saved, t._savedVersions!);
    t._gradBuf = null; // left over only if an earlier walk threw
  }
  accumulateGrad(root, seed, true);

  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.isLeaf) continue;
    const g = t._gradBuf;
    t._gradBuf = null;
    if (g === null) continue; // nothing flowed here
    const fn = t._backward!;
    if (!retainGraph) {
      t._backward = null;
      t._saved = null; // the closure, and what it kept, are gone
    }
    if (t._retainGrad) {
      if (t.grad === null) t.grad = new Tensor(g.slice(), t.shape);
      else {
        const d = t.grad.data;
        for (let k = 0; k < d.length; k++) d[k] += g[k];
      }
    }
    // g now belongs to the closure (it may overwrite it or hand it on)
    fn(g);
    // Unless a parent adopted it as its own gradient buffer, g is dead now: recycle it.
    const ps = t.parents;
    let adopted = false;
    for (let k = 0; k < ps.length; k++) if (currentBuf(ps[k]) === g) adopted = true;
    if (!adopted) releaseBuffer(g);
  }
}

/** The part of the graph that requires grad, inputs first (see topologicalOrder). */
function topoSort(root: Tensor): Tensor[] {
  return topologicalOrder(root, requiresGrad);
}

const requiresGrad = (t: Tensor): boolean => t.requiresGrad;
