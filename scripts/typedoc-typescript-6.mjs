// TypeDoc reads the sources through TypeScript's compiler API, which TypeScript 7 (the project's
// compiler, node_modules/typescript) no longer has. npm puts typedoc's peer `typescript` at the
// root, where 7 already sits, so this hook sends typedoc's own imports of `typescript` to the
// aliased devDependency `typescript-6` and leaves every other import alone.
// Used by `npm run docs` as: node --import ./scripts/typedoc-typescript-6.mjs node_modules/typedoc/bin/typedoc
// (typedoc's bin forks its CLI with the same --import, so the hook reaches the child too).
import { register } from 'node:module';

const hooks = `export async function resolve(specifier, context, nextResolve) {
  const fromTypedoc = context.parentURL?.includes('/node_modules/typedoc/');
  return nextResolve(specifier === 'typescript' && fromTypedoc ? 'typescript-6' : specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
