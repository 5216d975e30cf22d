// Topological order, shared by the scalar `Value` engine, the tensor backward pass and graph
// drawing, so that the three walk a graph the same way (inputs first, each node once).

/**
 * Every node reachable from `root` through `parents` (only through parents `follow` accepts),
 * each once, inputs before the nodes that use them (root last). Iterative, so a graph
 * thousands of ops deep does not overflow the stack.
 */
export function topologicalOrder<T extends { readonly parents: readonly T[] }>(
  root: T,
  follow?: (parent: T) => boolean,
): T[] {
  const order: T[] = [];
  const seen = new Set<T>([root]);
  // Each frame is a node and the index of the next parent to visit.
  const nodes: T[] = [root];
  const next: number[] = [0];
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const node = nodes[top];
    const i = next[top];
    if (i < node.parents.length) {
      next[top] = i + 1;
      const p = node.parents[i];
      if (!seen.has(p) && (follow === undefined || follow(p))) {
        seen.add(p);
        nodes.push(p);
        next.push(0);
      }
    } else {
      nodes.pop();
      next.pop();
      order.push(node);
    }
  }
  return order;
}
