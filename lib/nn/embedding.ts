/** nn.Embedding: a lookup table of learnable vectors, one row per index. */
import { checkOptions, optionKeys, quote } from '../options.js';
import { Tensor } from '../tensor/index.js';
import { embedding, paddingIndex, type Indices } from '../tensor/layer-ops.js';
import { Module, type ModuleSpec } from './module.js';
import { normal_ } from './init.js';
import { pyFloat } from './py-repr.js';

/** Options of Embedding (torch.nn.Embedding's padding_idx, max_norm, norm_type). */
export interface EmbeddingLayerOptions {
  /** A row that starts at zero and gets no gradient (negative counts from the end). Default: none. */
  paddingIdx?: number | null;
  /** Rows looked up whose norm exceeds this are rescaled in place to it first. Default: none. */
  maxNorm?: number | null;
  /** The p of the norm maxNorm bounds (default 2). */
  normType?: number;
}

export const EMBEDDING_LAYER_KEYS = optionKeys<EmbeddingLayerOptions>()('paddingIdx', 'maxNorm', 'normType');

function checkCount(name: string, v: unknown): number {
  if (Number.isInteger(v) && (v as number) >= 1) return v as number;
  const E = typeof v === 'number' ? RangeError : TypeError;
  throw new E(`Embedding: ${name} must be an integer >= 1, got ${quote(v)}`);
}

/**
 * A table of numEmbeddings vectors of embeddingDim (torch.nn.Embedding): forward(indices)
 * returns the rows they pick, shape [...indices shape, embeddingDim]. Indices are integers in
 * [0, numEmbeddings): a tensor holding them (any shape), an Int32Array or an array. The weight
 * starts N(0, 1), the paddingIdx row at 0; that row never gets a gradient.
 */
export class Embedding extends Module {
  /** Rows of the table. */
  readonly numEmbeddings: number;
  /** Length of each vector. */
  readonly embeddingDim: number;
  /** The row that gets no gradient, as a row number in [0, numEmbeddings), or null. */
  readonly paddingIdx: number | null;
  /** Rows looked up whose norm exceeds this are rescaled in place to it first; null: never. */
  readonly maxNorm: number | null;
  /** The p of the norm maxNorm bounds (default 2). */
  readonly normType: number;
  /** The table, shape [numEmbeddings, embeddingDim]. */
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingLayerOptions = {}) {
    super();
    checkOptions('Embedding', opts, EMBEDDING_LAYER_KEYS);
    this.numEmbeddings = checkCount('numEmbeddings', numEmbeddings);
    this.embeddingDim = checkCount('embeddingDim', embeddingDim);
    const pad = paddingIndex('Embedding', opts.paddingIdx, numEmbeddings);
    this.paddingIdx = pad < 0 ? null : pad;
    this.maxNorm = opts.maxNorm ?? null;
    this.normType = opts.normType ?? 2;
    for (const [name, v] of [
      ['maxNorm', this.maxNorm],
      ['normType', this.normType],
    ] as const) {
      if (v !== null && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) {
        throw new RangeError(`Embedding: ${name} must be a finite number > 0, got ${quote(v)}`);
      }
    }
    this.weight = normal_(new Tensor(new Float32Array(numEmbeddings * embeddingDim), [numEmbeddings, embeddingDim]));
    if (this.paddingIdx !== null) this.weight.data.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
    this.registerParameter('weight', this.weight);
  }

  /** The rows picked by indices (a tensor of integers, an Int32Array or an array). */
  forward(indices: Tensor | Indices): Tensor {
    return embedding(indices, this.weight, {
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
    });
  }

  spec(): ModuleSpec {
    return {
      type: 'Embedding',
      numEmbeddings: this.numEmbeddings,
      embeddingDim: this.embeddingDim,
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
    };
  }

  protected override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${this.maxNorm}`;
    if (this.normType !== 2) s += `, norm_type=${pyFloat(this.normType)}`;
    return s;
  }
}
