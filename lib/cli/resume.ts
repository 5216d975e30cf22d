/**
 * What `nodegrad train` records of its flags in a checkpoint, and the comparison on --resume.
 * A resumed run takes its weights, optimizer state and schedule from the checkpoint, so a flag
 * that differs would either be ignored silently (another optimizer) or give nonsense (no
 * schedule, and the lr a schedule left at 0). Differing flags are refused, naming the flag;
 * the two that have a meaning on their own (--lr and --epochs without a schedule that depends
 * on them) are applied, and the run says so.
 */
import { loadTree, type Callback } from '../train/index.js';
import { UsageError } from './args.js';

/** The flags of a `train` run that its checkpoint must agree with, as the user spelt them. */
export interface RunFlags {
  data: string;
  limit: number | null;
  /** --target, --task and --header as given (null when not): they choose what a CSV's data and targets are. */
  target: string | null;
  task: string | null;
  header: boolean | null;
  model: string;
  hidden: string;
  batch: number;
  optimizer: string;
  lr: number;
  'weight-decay': number | null;
  schedule: string;
  seed: number;
  epochs: number;
}

/** The key under which the flags sit in the checkpoint's tree (a stateful callback's key). */
const KEY = 'cliFlags';

/** Schedules whose lr at a step depends on --epochs (cosine's tMax, step's stepSize, onecycle's length). */
const EPOCH_SCHEDULES = new Set(['step', 'cosine', 'onecycle']);

/** A callback that writes the flags into every checkpoint `fit` saves, beside the scheduler's state. */
export function flagsCallback(flags: RunFlags): Callback {
  return { stateKey: KEY, stateDict: () => ({ ...flags }) };
}

const show = (v: unknown): string => (v === null ? 'not given' : String(v));

/**
 * Compares the flags with those `checkpoint` recorded. Throws a UsageError naming the first flag
 * that differs; returns the lines to tell the user about flags applied on top of the
 * checkpoint, and a callback that applies a new --lr once the checkpoint is loaded.
 */
export function compareWithCheckpoint(
  checkpoint: string,
  flags: RunFlags,
): { notes: string[]; callback: Callback | null } {
  const saved = loadTree(checkpoint)[KEY] as Partial<RunFlags> | undefined;
  if (saved === undefined || saved === null || typeof saved !== 'object') {
    return {
      notes: [
        `nodegrad: note: ${checkpoint} does not record the flags of its run (not written by nodegrad train), so they are not compared`,
      ],
      callback: null,
    };
  }
  const notes: string[] = [];
  let lr: number | null = null;
  for (const name of Object.keys(flags) as (keyof RunFlags)[]) {
    const was = saved[name] ?? null;
    const now = flags[name];
    if (was === now) continue;
    if (name === 'lr' && flags.schedule === 'none') {
      lr = now as number;
      notes.push(`nodegrad: resuming with --lr ${now}; the checkpoint's run used ${show(was)}`);
      continue;
    }
    if (name === 'epochs' && !EPOCH_SCHEDULES.has(flags.schedule)) {
      notes.push(`nodegrad: resuming to --epochs ${now}; the checkpoint's run was for ${show(was)}`);
      continue;
    }
    const why =
      name === 'lr' || name === 'epochs'
        ? ` (with --schedule ${flags.schedule} the schedule sets the lr from them)`
        : '';
    throw new UsageError(
      `--${name} ${show(now)} differs from the checkpoint's ${show(was)}${why}: resume with the flags of the run that wrote ${checkpoint}`,
      'train',
    );
  }
  const callback: Callback | null =
    lr === null
      ? null
      : {
          onTrainBegin: (ctx) => {
            for (const g of ctx.optimizer.paramGroups) g.lr = lr;
          },
        };
  return { notes, callback };
}
