import { describe, it, expect } from 'vitest';
import { parseCsv, parseCsvTable, inferTask, MAX_INFERRED_CLASSES } from '../lib/data/csv.js';

describe('CSV records', () => {
  it('reads quoted fields holding the delimiter, doubled quotes and a line break', () => {
    const t = parseCsvTable('"x, first",label\n"1",a\n2,"say ""hi"", twice"\n3,"two\nlines"\n');
    expect(t.columns).toEqual(['x, first', 'label']);
    expect(Array.from(t.dataset.x)).toEqual([1, 2, 3]);
    expect(t.dataset.classNames).toEqual(['a', 'say "hi", twice', 'two\nlines']);
  });

  it('reads a BOM, CRLF and LF line ends mixed, and blank lines', () => {
    const ds = parseCsv('\ufeffa,b,label\r\n\r\n1,2,0\n\n3,4,1\r\n   \n');
    expect(Array.from(ds.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(ds.y)).toEqual([0, 1]);
  });

  it('names the line of a ragged row after a quoted line break and blank lines', () => {
    expect(() => parseCsv('a,b,label\n\n"1\n",2,0\n3,1\n', {}, 'r.csv')).toThrow(
      'r.csv: line 5 has 2 columns, expected 3 (ragged rows)',
    );
  });

  it('names line and column of a non-numeric feature after a quoted multi-line cell', () => {
    expect(() => parseCsv('a,b,label\n1,2,"x\ny"\n3,oops,z\n', {}, 'n.csv')).toThrow(
      "n.csv: line 4, column 2: 'oops' is not a number",
    );
  });

  it('refuses malformed quoting, naming the line', () => {
    expect(() => parseCsv('a,b,label\n1,"2"x,0\n', {}, 'q.csv')).toThrow(/^q\.csv: line 2: Invalid Closing Quote/);
  });
});

describe('CSV targets', () => {
  it('maps string labels to sorted class names, with a header detected past the label column', () => {
    const ds = parseCsv('f1,f2,kind\n1,2,cat\n3,4,dog\n5,6,cat\n');
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.y)).toEqual([0, 1, 0]);
    const noHeader = parseCsv('1,2,cat\n3,4,dog\n');
    expect(noHeader.length).toBe(2);
  });

  it('maps labels to given classNames and refuses one not among them', () => {
    const ds = parseCsv('1,dog\n2,cat\n', { classNames: ['dog', 'cat'] });
    expect(Array.from(ds.y)).toEqual([0, 1]);
    expect(() => parseCsv('1,dog\n2,cow\n', { classNames: ['dog', 'cat'] }, 'c.csv')).toThrow(
      "c.csv: line 2, column 2: label 'cow' is not one of the classNames",
    );
  });

  it('reads float targets for regression, naming a non-numeric target', () => {
    const ds = parseCsv('x,y\n1,0.5\n2,-1.25\n', { task: 'regression' });
    expect(ds.task).toBe('regression');
    expect(Array.from(ds.targets!)).toEqual([0.5, -1.25]);
    expect(() => parseCsv('x,y\n1,0.5\n2,big\n', { task: 'regression' }, 'r.csv')).toThrow(
      "r.csv: line 3, column 2: 'big' is not a number",
    );
  });

  it('infers the task from the target column', () => {
    expect(inferTask(['a', '1'])).toEqual({ task: 'classification', reason: 'class names' });
    expect(inferTask(['0', '2', '1'])).toEqual({ task: 'classification', reason: '3 integer classes' });
    expect(inferTask(['0.5', '2'])).toEqual({ task: 'regression', reason: 'non-integer values' });
    expect(inferTask(['-1', '2'])).toEqual({ task: 'regression', reason: 'non-integer values' });
    const many = Array.from({ length: MAX_INFERRED_CLASSES + 1 }, (_, i) => String(i));
    const r = inferTask(many);
    expect(r.task).toBe('regression');
    expect(r.warning).toMatch(/51 distinct integers/);
    expect(inferTask(many.slice(1)).task).toBe('classification');
  });

  it("keeps 'classification' the default: a float label is refused as before", () => {
    expect(() => parseCsv('1,0.5\n', {}, 'l.csv')).toThrow(
      "l.csv: line 1, column 2: label '0.5' is not an integer >= 0",
    );
    expect(parseCsvTable('1,0.5\n', { task: 'auto' }).dataset.task).toBe('regression');
  });
});
