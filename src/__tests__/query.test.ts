import {
  defaultQuery,
  durationError,
  integerError,
  interpolateDeep,
  isRunnable,
  migrateQuery,
  needsMigration,
  urlError,
} from '../query';
import { SheepdogQuery } from '../types';

describe('defaultQuery', () => {
  it('starts from a data source when some are allowed, with the detector defaults', () => {
    expect(defaultQuery({ allowedDatasources: ['prom-main'] })).toEqual({
      source: { type: 'datasource' },
      detector: { method: 'auto', sensitivity: 50, direction: 'both', seasonality: 'auto' },
      outputs: ['bands', 'windows'],
    });
  });
  it('starts from PromQL when only a Prometheus URL is configured', () => {
    expect(defaultQuery({ prometheusUrl: 'http://prometheus:9090' }).source.type).toBe('prometheus');
  });
  it('starts from inline CSV, the one source needing no settings, when nothing is configured', () => {
    expect(defaultQuery({}).source.type).toBe('csv');
    expect(defaultQuery(undefined).source.type).toBe('csv');
    expect(defaultQuery({ allowedDatasources: [] }).source.type).toBe('csv');
  });
});

describe('migrateQuery', () => {
  it('moves the first flat PromQL shape into source and detector', () => {
    const old = { refId: 'B', expr: 'rate(x[5m])', legendFormat: '{{pod}}', method: 'robust', sensitivity: '70' };
    expect(needsMigration(old)).toBe(true);
    expect(migrateQuery(old)).toEqual({
      refId: 'B',
      source: { type: 'prometheus', expr: 'rate(x[5m])', legendFormat: '{{pod}}' },
      detector: { method: 'robust', sensitivity: 70 },
    });
  });

  it('reads a flat CSV shape with output and alert fields', () => {
    const old = {
      refId: 'A',
      csvContent: 'timestamp,value\n1,2\n',
      direction: 'down',
      seasonality: 'daily',
      minDuration: '5m',
      history: 0,
      output: 'bands,score,bogus',
      alertMode: 'latest_score',
      alertWindow: '15m',
      hide: true,
    };
    expect(migrateQuery(old)).toEqual({
      refId: 'A',
      hide: true,
      source: { type: 'csv', csv: 'timestamp,value\n1,2\n' },
      detector: { direction: 'down', seasonality: 'daily', minDuration: '5m', history: '0' },
      outputs: ['bands', 'score'],
      alert: { mode: 'latest_score', window: '15m' },
    });
  });

  it('reads a flat shape that referenced another data source, giving the nested query a refId', () => {
    const old = { refId: 'C', sourceDatasource: 'prom-main', sourceQuery: { expr: 'up' } };
    expect(migrateQuery(old).source).toEqual({
      type: 'datasource',
      datasource: { uid: 'prom-main' },
      query: { expr: 'up', refId: 'C' },
    });
  });

  it('clamps an out-of-range sensitivity and replaces an unknown method with auto', () => {
    expect(migrateQuery({ refId: 'A', expr: 'up', sensitivity: 250, method: 'magic' }).detector).toEqual({
      method: 'auto',
      sensitivity: 100,
    });
  });

  it('is idempotent and leaves current queries unchanged', () => {
    const current: SheepdogQuery = {
      refId: 'A',
      datasource: { uid: 'sheepdog', type: 'sheepdog-anomaly-datasource' },
      source: { type: 'prometheus', expr: 'up' },
      detector: { method: 'agile', sensitivity: 10 },
      outputs: ['score'],
      alert: { enabled: true },
    };
    expect(needsMigration(current)).toBe(false);
    expect(migrateQuery(current)).toEqual(current);
    expect(migrateQuery(migrateQuery({ refId: 'A', expr: 'up', method: 'basic' }))).toEqual(
      migrateQuery({ refId: 'A', expr: 'up', method: 'basic' })
    );
  });

  it('turns a blank or broken value into a data source query', () => {
    expect(migrateQuery(undefined)).toEqual({ refId: 'A', source: { type: 'datasource' } });
    expect(migrateQuery({ refId: 'X', source: { type: 'nonsense' } }).source.type).toBe('datasource');
  });
});

describe('isRunnable', () => {
  it.each([
    [{ type: 'csv', csv: 'timestamp,value\n1,1' }, true],
    [{ type: 'csv', csv: '  ' }, false],
    [{ type: 'prometheus', expr: 'up' }, true],
    [{ type: 'prometheus' }, false],
    [{ type: 'datasource', datasource: { uid: 'p' }, query: { refId: 'A' } }, true],
    [{ type: 'datasource', datasource: { uid: 'p' } }, false],
    [{ type: 'datasource' }, false],
  ])('%j -> %s', (source, want) => {
    expect(isRunnable({ refId: 'A', source } as SheepdogQuery)).toBe(want);
  });
  it('is false for hidden queries', () => {
    expect(isRunnable({ refId: 'A', hide: true, source: { type: 'prometheus', expr: 'up' } })).toBe(false);
  });
});

describe('validation', () => {
  it.each(['90s', '1h30m', '200ms', '3d', '1w', '1.5h', '$window', '${w}', ''])('accepts duration %s', (v) => {
    expect(durationError(v)).toBeUndefined();
  });
  it.each(['5 minutes', '3x', '1d12h', 'h', '-5m'])('rejects duration %s', (v) => {
    expect(durationError(v)).toMatch(/not a duration/);
  });
  it('refuses what the backend refuses: over 366d, a bare number, days mixed with hours', () => {
    expect(durationError('400d')).toMatch(/maximum of 366d/);
    expect(durationError('366d')).toBeUndefined();
    expect(durationError('5')).toMatch(/not a duration/);
  });
  it('accepts 0 only where zero means something', () => {
    expect(durationError('0')).toMatch(/longer than 0/);
    expect(durationError('0s')).toMatch(/longer than 0/);
    expect(durationError('0', { allowZero: true })).toBeUndefined();
  });
  it('checks URLs like the backend', () => {
    expect(urlError('http://sheepdog-api:8080')).toBeUndefined();
    expect(urlError('ftp://x')).toMatch(/http/);
    expect(urlError('sheepdog-api:8080')).toBeDefined();
    expect(urlError('not a url')).toMatch(/not a URL/);
  });
  it('checks whole numbers with a minimum', () => {
    expect(integerError('3', 0)).toBeUndefined();
    expect(integerError('1.5', 0)).toMatch(/whole/);
    expect(integerError('0', 1)).toMatch(/at least 1/);
  });
});

describe('interpolateDeep', () => {
  it('replaces strings at any depth and keeps refId, numbers and booleans', () => {
    const out = interpolateDeep(
      { refId: '$x', a: '$x', b: [{ c: 'y-$x' }, 3, true, null], d: { e: { f: '$x' } } },
      (s) => s.replace('$x', 'X')
    );
    expect(out).toEqual({ refId: '$x', a: 'X', b: [{ c: 'y-X' }, 3, true, null], d: { e: { f: 'X' } } });
  });
});
