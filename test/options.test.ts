// Unknown options are refused everywhere in the public API, with the key that was meant.
import { describe, expect, it } from 'vitest';
import { checkChoice, checkOptions, optionKeys, suggestKey } from '../lib/options.js';
import * as ng from '../lib/index.js';

const param = (): ng.optim.Param => ({ data: new Float32Array(4), grad: null });

describe('checkOptions', () => {
  const keys = optionKeys<{ lr: number; weightDecay?: number; tMax?: number; betas?: [number, number] }>()(
    'lr', 'weightDecay', 'tMax', 'betas',
  );

  it('accepts undefined and objects whose keys are all known', () => {
    expect(() => checkOptions('X', undefined, keys)).not.toThrow();
    expect(() => checkOptions('X', { lr: 1, weightDecay: 0 }, keys)).not.toThrow();
  });

  it('refuses something that is not an object, quoting it by type', () => {
    expect(() => checkOptions('X', 5, keys)).toThrow(new TypeError('X: options must be an object, got 5'));
    expect(() => checkOptions('X', '5', keys)).toThrow("got '5' (a string)");
    expect(() => checkOptions('X', null, keys)).toThrow('got null');
    expect(() => checkOptions('X', [1], keys)).toThrow('got an array');
  });

  it("turns PyTorch's snake_case into the camelCase key", () => {
    expect(() => checkOptions('Adam', { weight_decay: 0 }, keys)).toThrow(
      new TypeError("unknown option 'weight_decay' for Adam: did you mean 'weightDecay'?"),
    );
    expect(suggestKey('T_max', keys)).toBe('tMax');
  });

  it('knows the names other libraries use and near misses', () => {
    expect(suggestKey('learningRate', keys)).toBe('lr');
    expect(suggestKey('learning_rate', keys)).toBe('lr');
    expect(suggestKey('beta1', keys)).toBe('betas');
    expect(suggestKey('weightDecy', keys)).toBe('weightDecay');
    expect(suggestKey('WEIGHTDECAY', keys)).toBe('weightDecay');
  });

  it('lists the options when nothing is close', () => {
    expect(() => checkOptions('X', { zzzzzz: 1 }, keys)).toThrow(
      "unknown option 'zzzzzz' for X (options: 'lr', 'weightDecay', 'tMax', 'betas')",
    );
  });
});

describe('checkChoice', () => {
  it('returns a valid choice and refuses others with a hint', () => {
    expect(checkChoice('mseLoss', 'reduction', 'sum', ['mean', 'sum', 'none'])).toBe('sum');
    expect(() => checkChoice('mseLoss', 'reduction', 'summ', ['mean', 'sum', 'none'])).toThrow(
      new RangeError("mseLoss: reduction must be one of 'mean', 'sum', 'none', got 'summ' (did you mean 'sum'?)"),
    );
    expect(() => checkChoice('mseLoss', 'reduction', 1, ['mean', 'sum'])).toThrow(TypeError);
  });
});

describe('the public API refuses unknown options', () => {
  it.each([
    ['SGD', () => new ng.optim.SGD([param()], { lr: 0.1, weight_decay: 1e-4 } as never), "unknown option 'weight_decay' for SGD: did you mean 'weightDecay'?"],
    ['Adam', () => new ng.optim.Adam([param()], { learningRate: 1e-3 } as never), "unknown option 'learningRate' for Adam: did you mean 'lr'?"],
    ['AdamW', () => new ng.optim.AdamW([param()], { amsGrad: true } as never), "unknown option 'amsGrad' for AdamW: did you mean 'amsgrad'?"],
    ['RMSprop', () => new ng.optim.RMSprop([param()], { centred: true } as never), "unknown option 'centred' for RMSprop: did you mean 'centered'?"],
    ['Adagrad', () => new ng.optim.Adagrad([param()], { lr_decay: 0.1 } as never), "unknown option 'lr_decay' for Adagrad: did you mean 'lrDecay'?"],
    ['a parameter group', () => new ng.optim.SGD([{ params: [param()], lr: 0.1, momentun: 0.9 } as never]), "unknown option 'momentun' for SGD parameter group: did you mean 'momentum'?"],
    ['DataLoader', () => new ng.DataLoader(new ng.Dataset({ x: new Float32Array(4), y: new Int32Array(2) }), { batch_size: 2 } as never), "unknown option 'batch_size' for DataLoader: did you mean 'batchSize'?"],
    ['Linear', () => new ng.nn.Linear(2, 2, { bais: false } as never), "unknown option 'bais' for Linear: did you mean 'bias'?"],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(new TypeError(message));
  });

  it('still accepts every documented option', () => {
    expect(() => new ng.optim.AdamW([param()], { lr: 1e-3, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false })).not.toThrow();
    expect(new ng.optim.AdamW([param()]).defaults.weightDecay).toBe(1e-2);
  });
});
