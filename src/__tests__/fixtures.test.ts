/*
 * Fixture parity with the Go side: the same files in pkg/models/testdata are parsed by pkg/models tests.
 * Also compares the TS key lists with the json tags of the Go structs, so the models cannot drift apart.
 */
import fs from 'fs';
import path from 'path';

import { isRunnable, migrateQuery, needsMigration } from '../query';
import {
  ALERT_KEYS,
  ALERT_MODES,
  ALL_OUTPUTS,
  DATASOURCE_REF_KEYS,
  DETECTOR_KEYS,
  DIRECTIONS,
  isPrometheusHeaderKey,
  METHODS,
  QUERY_KEYS,
  SECURE_KEYS,
  SETTINGS_KEYS,
  SheepdogQuery,
  SOURCE_KEYS,
  SOURCE_TYPES,
} from '../types';

const MODELS = path.resolve(__dirname, '../../pkg/models');
const readJSON = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const jsonFiles = (dir: string) =>
  fs
    .readdirSync(path.join(MODELS, 'testdata', dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, path.join(MODELS, 'testdata', dir, f)] as const);

/** json tags of one Go struct, in declaration order. */
function goJSONTags(file: string, structName: string): string[] {
  const src = fs.readFileSync(path.join(MODELS, file), 'utf8');
  const m = new RegExp(`type ${structName} struct \\{([\\s\\S]*?)\\n\\}`).exec(src);
  if (!m) {
    throw new Error(`struct ${structName} not found in ${file}`);
  }
  // json:"-" fields are not in the JSON (Settings.PrometheusHeaderNames is decoded from numbered keys by hand).
  return Array.from(m[1].matchAll(/json:"([^",]+)/g), (x) => x[1]).filter((tag) => tag !== '-');
}

/** Values of Go string constants whose names start with prefix. */
function goConsts(file: string, prefix: string): string[] {
  const src = fs.readFileSync(path.join(MODELS, file), 'utf8');
  return Array.from(src.matchAll(new RegExp(`\\b${prefix}\\w*\\s*=\\s*"([^"]+)"`, 'g')), (x) => x[1]);
}

describe('Go struct parity', () => {
  it.each([
    ['query.go', 'Query', QUERY_KEYS],
    ['query.go', 'Source', SOURCE_KEYS],
    ['query.go', 'DataSourceRef', DATASOURCE_REF_KEYS],
    ['query.go', 'DetectorOptions', DETECTOR_KEYS],
    ['query.go', 'AlertOptions', ALERT_KEYS],
    ['settings.go', 'Settings', SETTINGS_KEYS],
  ])('%s %s has the same JSON keys as src/types.ts', (file, struct, keys) => {
    expect([...goJSONTags(file, struct)].sort()).toEqual([...keys].sort());
  });

  it('has the same enumerations', () => {
    expect(goConsts('query.go', 'Source').sort()).toEqual([...SOURCE_TYPES].sort());
    expect(goConsts('query.go', 'Output').sort()).toEqual([...ALL_OUTPUTS].sort());
    expect(goConsts('query.go', 'Alert').sort()).toEqual([...ALERT_MODES].sort());
    expect(goConsts('settings.go', 'Secure').sort()).toEqual([...SECURE_KEYS].sort());
    expect(goConsts('settings.go', 'Engine').sort()).toEqual(['embedded', 'remote']);
    expect(goConsts('settings.go', 'Access').sort()).toEqual(['service_account', 'token']);
    expect(goConsts('settings.go', 'PromAuth').sort()).toEqual(['basic', 'bearer', 'none']);
  });
});

describe.each(jsonFiles('queries'))('query fixture %s', (_name, file) => {
  const fixture = readJSON(file);

  it('is in the current shape and survives migration unchanged', () => {
    expect(needsMigration(fixture)).toBe(false);
    expect(migrateQuery(fixture)).toEqual(fixture);
  });

  it('uses only known keys and values', () => {
    const q = fixture as SheepdogQuery;
    const known = new Set<string>([...QUERY_KEYS, 'refId', 'hide', 'datasource', 'key', 'queryType']);
    expect(Object.keys(fixture).filter((k) => !known.has(k))).toEqual([]);
    expect(Object.keys(q.source).filter((k) => !(SOURCE_KEYS as readonly string[]).includes(k))).toEqual([]);
    expect(SOURCE_TYPES).toContain(q.source.type);
    const det = q.detector ?? {};
    expect(Object.keys(det).filter((k) => !(DETECTOR_KEYS as readonly string[]).includes(k))).toEqual([]);
    if (det.method) {
      expect(METHODS).toContain(det.method);
    }
    if (det.direction) {
      expect(DIRECTIONS).toContain(det.direction);
    }
    for (const o of q.outputs ?? []) {
      expect(ALL_OUTPUTS).toContain(o);
    }
    if (q.alert?.mode) {
      expect(ALERT_MODES).toContain(q.alert.mode);
    }
  });

  it('is runnable', () => {
    expect(isRunnable(fixture)).toBe(true);
  });
});

describe.each(jsonFiles('settings'))('settings fixture %s', (_name, file) => {
  const fixture = readJSON(file);
  it('has only known jsonData keys and secure keys', () => {
    const known = (keys: readonly string[]) => (k: string) => keys.includes(k) || isPrometheusHeaderKey(k);
    expect(Object.keys(fixture.jsonData).filter((k) => !known(SETTINGS_KEYS)(k))).toEqual([]);
    expect(Object.keys(fixture.secureJsonFields ?? {}).filter((k) => !known(SECURE_KEYS)(k))).toEqual([]);
  });
  it('never holds a secret in jsonData', () => {
    for (const k of SECURE_KEYS) {
      expect(fixture.jsonData).not.toHaveProperty(k);
    }
    expect(Object.keys(fixture.jsonData).filter((k) => k.startsWith('prometheusHeaderValue'))).toEqual([]);
  });
});
