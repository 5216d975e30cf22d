// Shared by the benchmark scripts: command-line flags and medians.
const argv = process.argv.slice(2);

/** Whether `--name` was given. */
export const flag = (name) => argv.includes(name);

/** The number after `--name`, or dflt. */
export const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? Number(argv[i + 1]) : dflt;
};

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * GLIBC_TUNABLES for a peer's second run: glibc's malloc serves blocks of up to 256 MB from its
 * heap and keeps freed memory, instead of mmap-ing each large block afresh. PyTorch allocates
 * every activation and gradient per step; above glibc's mmap threshold (128 KB, raised only
 * after the first such block is freed) each one arrives as fresh pages, and on a virtual machine
 * where a page fault costs ~10 us that is most of PyTorch's step (the MLP anchor: 7.3 ms a step
 * by default, 2.0 ms with these settings, the same numbers otherwise). Which of the two a run
 * gets depends on the order of its frees, so the benchmarks run PyTorch both ways and compare
 * with its best.
 */
export const MALLOC_TUNED = 'glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824';

/**
 * The environment a peer (PyTorch) runs in: OpenBLAS left to pick its own kernel for this CPU,
 * and with `tuned`, MALLOC_TUNED.
 */
export const peerEnv = (tuned = false) => {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (tuned) env.GLIBC_TUNABLES = MALLOC_TUNED;
  return env;
};
