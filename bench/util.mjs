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
