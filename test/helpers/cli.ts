// Runs the CLI in-process with captured output, as a user would see it.
import { main } from '../../lib/cli/main.js';

/** `nodegrad ...args` with `stdin` as standard input: its exit code, stdout and stderr. */
export function cli(args: string[], stdin = ''): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: () => stdin,
  });
  return { code, stdout, stderr };
}
