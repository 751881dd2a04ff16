import fs from 'fs';
import path from 'path';

import { parseDuration } from '../duration';

// The backend's cases (go test ./pkg/duration reads the same file): the editors accept what the backend accepts.
const cases: Array<{ in: string; ms?: number; error?: string }> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../pkg/duration/testdata/parse.json'), 'utf8')
);

describe('parseDuration', () => {
  it('reads the shared fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
  it.each(cases.filter((c) => c.error === undefined).map((c) => [c.in, c.ms]))('%j is %d ms', (input, ms) => {
    expect(parseDuration(input as string)).toEqual({ ms });
  });
  it.each(cases.filter((c) => c.error !== undefined).map((c) => [c.in, c.error]))('%j: %s', (input, error) => {
    const got = parseDuration(input as string);
    expect(got.ms).toBeUndefined();
    expect(got.error).toContain(error);
  });
});
