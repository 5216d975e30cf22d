/** nn.Dropout2d: drops whole channels of image batches. */
import type { Tensor } from '../tensor/index.js';
import { dropout2d, dropoutProbability } from '../tensor/layer-ops.js';
import { Module, type ModuleSpec } from './module.js';

/**
 * Channel dropout (torch.nn.Dropout2d): in training mode each [H, W] plane of an [N, C, H, W]
 * (or unbatched [C, H, W]) input is zeroed with probability p and the rest are scaled by
 * 1 / (1 - p); eval mode is the identity. The mask comes from the global generator, so a
 * seeded run drops the same channels.
 */
export class Dropout2d extends Module {
  /** Probability of zeroing a channel in training mode, in [0, 1] (default 0.5). */
  readonly p: number;

  constructor(p = 0.5) {
    super();
    dropoutProbability('Dropout2d', p);
    this.p = p;
  }

  forward(x: Tensor): Tensor {
    return dropout2d(x, this.p, this.training);
  }

  spec(): ModuleSpec {
    return { type: 'Dropout2d', p: this.p };
  }

  protected override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}
