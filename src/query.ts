/*
 * Pure helpers around the query model: defaults, migration of older saved shapes, validation and
 * template-variable interpolation. Kept free of Grafana runtime services so they are easy to test.
 */
import { parseDuration } from './duration';
import {
  ALL_OUTPUTS,
  ALERT_MODES,
  DETECTOR_DEFAULTS,
  DEFAULT_OUTPUTS,
  DIRECTIONS,
  DetectorOptions,
  Method,
  METHODS,
  NestedQuery,
  Output,
  SheepdogOptions,
  SheepdogQuery,
  SheepdogSource,
  SOURCE_TYPES,
  SourceType,
  TemplateVariable,
} from './types';

/**
 * The source a new query starts with: a data source if any is allowed, else the Prometheus URL, else inline CSV,
 * the one source that needs no settings (with an empty allow-list the backend refuses every data source).
 */
export function defaultSourceType(jsonData?: SheepdogOptions): SourceType {
  if (jsonData?.allowedDatasources?.length) {
    return 'datasource';
  }
  if (jsonData?.prometheusUrl) {
    return 'prometheus';
  }
  return 'csv';
}

/** A new query: picking a source is enough, everything else has a working default. */
export function defaultQuery(jsonData?: SheepdogOptions): Omit<SheepdogQuery, 'refId'> {
  return {
    source: { type: defaultSourceType(jsonData) },
    detector: { ...DETECTOR_DEFAULTS },
    outputs: [...DEFAULT_OUTPUTS],
  };
}

/** True for a template variable reference, whose value is only known at query time. */
export const hasVariable = (s: string) => /\$\{?[\w.]+/.test(s) || /\[\[[\w.]+\]\]/.test(s);

/** A string holding a dashboard variable: kept as it is until applyTemplateVariables interpolates it. */
const variable = (v: unknown): TemplateVariable | undefined =>
  typeof v === 'string' && hasVariable(v) ? (v as TemplateVariable) : undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) {
    return v;
  }
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) {
    return Number(v);
  }
  return undefined;
}

/** Fields of the first (flat) query shape: {expr, method, sensitivity, ...} at the top level. */
const LEGACY_FLAT_KEYS = [
  'expr',
  'legendFormat',
  'csv',
  'csvContent',
  'sourceDatasource',
  'sourceQuery',
  'method',
  'sensitivity',
  'direction',
  'seasonality',
  'minDuration',
  'history',
  'output',
  'alertMode',
  'alertWindow',
] as const;

/**
 * The query part of an annotation saved before annotations had a `target`: the query fields were stored next to
 * the annotation's own (name, enable, hide, iconColor, datasource, ...). Only query fields are taken, so the
 * annotation's fields never reach the backend (and its `hide`, the dashboard-controls toggle, does not disable the
 * query). `alert` is left out: an annotation is never an alert query.
 */
export function legacyAnnotationQuery(anno: Record<string, unknown>): {
  query: Record<string, unknown>;
  rest: Record<string, unknown>;
} {
  const query: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  const queryKeys: readonly string[] = [...LEGACY_FLAT_KEYS, 'source', 'detector', 'outputs'];
  for (const [k, v] of Object.entries(anno)) {
    if (queryKeys.includes(k)) {
      query[k] = v;
    } else if (k !== 'alert' && k !== 'alertMode' && k !== 'alertWindow') {
      rest[k] = v;
    }
  }
  return { query, rest };
}

/** True when a stored query is not in the current shape and migrateQuery would change it. */
export function needsMigration(raw: unknown): boolean {
  if (!isObject(raw)) {
    return true;
  }
  if (!isObject(raw.source) || !SOURCE_TYPES.includes(raw.source.type as SourceType)) {
    return true;
  }
  if (LEGACY_FLAT_KEYS.some((k) => k in raw)) {
    return true;
  }
  // A sensitivity stored as a numeric string is an older shape; "$sensitivity" is a dashboard variable, current.
  const sensitivity: unknown = (raw.detector as DetectorOptions | undefined)?.sensitivity;
  return typeof sensitivity === 'string' && !hasVariable(sensitivity);
}

function legacySource(raw: Record<string, unknown>): SheepdogSource {
  const csv = str(raw.csv) ?? str(raw.csvContent);
  if (csv !== undefined) {
    return { type: 'csv', csv };
  }
  // Shapes that referenced another data source: sourceDatasource (uid string or ref) + sourceQuery.
  const ds = raw.sourceDatasource;
  if (ds !== undefined && ds !== null) {
    const ref =
      typeof ds === 'string'
        ? { uid: ds }
        : isObject(ds) && str(ds.uid)
          ? { uid: String(ds.uid), type: str(ds.type) }
          : undefined;
    if (ref) {
      const query = isObject(raw.sourceQuery) ? (raw.sourceQuery as NestedQuery) : undefined;
      return { type: 'datasource', datasource: ref, query };
    }
  }
  const expr = str(raw.expr);
  if (expr !== undefined) {
    return { type: 'prometheus', expr, legendFormat: str(raw.legendFormat) };
  }
  return { type: 'datasource' };
}

function cleanSource(src: Record<string, unknown>): SheepdogSource {
  const type = SOURCE_TYPES.includes(src.type as SourceType) ? (src.type as SourceType) : 'datasource';
  const out: SheepdogSource = { ...(src as unknown as SheepdogSource), type };
  if (typeof out.datasource === 'string') {
    out.datasource = { uid: out.datasource };
  }
  return out;
}

function migrateDetector(raw: Record<string, unknown>, nested: unknown): DetectorOptions {
  const src = isObject(nested) ? nested : {};
  const pick = (k: string) => (k in src ? src[k] : raw[k]);
  const det: DetectorOptions = {};
  // A dashboard variable may stand for any option: it is kept for applyTemplateVariables, never judged here.
  const method = str(pick('method'));
  if (method !== undefined) {
    det.method = variable(method) ?? ((METHODS as string[]).includes(method) ? (method as Method) : 'auto');
  }
  const sensitivityVar = variable(pick('sensitivity'));
  const sensitivity = num(pick('sensitivity'));
  if (sensitivityVar !== undefined) {
    det.sensitivity = sensitivityVar;
  } else if (sensitivity !== undefined) {
    det.sensitivity = clampSensitivity(sensitivity);
  }
  const direction = str(pick('direction'));
  if (direction !== undefined && (variable(direction) || (DIRECTIONS as string[]).includes(direction))) {
    det.direction = direction as DetectorOptions['direction'];
  }
  for (const k of ['seasonality', 'minDuration', 'history'] as const) {
    const v = pick(k);
    if (typeof v === 'string' && v !== '') {
      det[k] = v;
    } else if (k === 'history' && typeof v === 'number') {
      det.history = String(v);
    }
  }
  return det;
}

function migrateOutputs(raw: Record<string, unknown>): Output[] | undefined {
  const value = raw.outputs ?? raw.output;
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!list) {
    return undefined;
  }
  const outs = list.map((v) => String(v).trim()).filter((v): v is Output => (ALL_OUTPUTS as string[]).includes(v));
  return outs.length ? Array.from(new Set(outs)) : undefined;
}

/**
 * Brings any stored Sheepdog query to the current shape. Unknown extra fields are dropped only when they are
 * known legacy fields; the nested data source query is kept as is. Idempotent.
 */
export function migrateQuery(input: unknown): SheepdogQuery {
  const raw: Record<string, unknown> = isObject(input) ? input : {};
  const legacy = !isObject(raw.source);
  const source = legacy ? legacySource(raw) : cleanSource(raw.source as Record<string, unknown>);

  const rest: Record<string, unknown> = { ...raw };
  for (const k of [...LEGACY_FLAT_KEYS, 'source', 'detector', 'outputs', 'alert']) {
    delete rest[k];
  }

  const q: SheepdogQuery = {
    ...(rest as Partial<SheepdogQuery>),
    refId: str(raw.refId) ?? 'A',
    source,
  };
  const detector = migrateDetector(raw, raw.detector);
  if (isObject(raw.detector) || Object.keys(detector).length) {
    q.detector = detector;
  }
  const outputs = migrateOutputs(raw);
  if (outputs) {
    q.outputs = outputs;
  }
  const alert = isObject(raw.alert) ? { ...raw.alert } : {};
  if (str(raw.alertMode) && (variable(raw.alertMode) || (ALERT_MODES as string[]).includes(String(raw.alertMode)))) {
    alert.mode = raw.alertMode;
  }
  if (str(raw.alertWindow)) {
    alert.window = raw.alertWindow;
  }
  if (Object.keys(alert).length) {
    q.alert = alert as SheepdogQuery['alert'];
  }
  if (source.type === 'datasource' && source.query && !source.query.refId) {
    source.query = { ...source.query, refId: q.refId };
  }
  return q;
}

/** Sensitivity is a share from 0 to 100 (models.DetectorOptions); the editor and migration keep it there. */
export const clampSensitivity = (n: number) => Math.min(100, Math.max(0, n));

/** Whether a query has what the backend needs to run it (filterQuery hides the rest). */
export function isRunnable(q: SheepdogQuery): boolean {
  if (q.hide) {
    return false;
  }
  const s = q.source;
  switch (s?.type) {
    case 'csv':
      return !!s.csv?.trim();
    case 'prometheus':
      return !!s.expr?.trim();
    case 'datasource':
      return !!s.datasource?.uid && isObject(s.query);
    default:
      return false;
  }
}

/**
 * Checks a duration the way the backend reads it (src/duration.ts: "90s", "1h30m", "3d", "1w", at most 366d).
 * Returns an error message, or undefined when valid or empty.
 */
export function durationError(value: string | undefined, opts: { allowZero?: boolean } = {}): string | undefined {
  const v = (value ?? '').trim();
  if (v === '' || hasVariable(v)) {
    return undefined;
  }
  const d = parseDuration(v);
  if (d.error !== undefined) {
    return d.tooLong
      ? `"${v}" is longer than the maximum of 366d`
      : `"${v}" is not a duration: use e.g. 500ms, 90s, 15m, 6h, 3d or 1w`;
  }
  if (d.ms === 0 && !opts.allowZero) {
    return 'Must be longer than 0';
  }
  return undefined;
}

/** Checks an http(s) URL as the backend does. Returns an error message, or undefined when valid or empty. */
export function urlError(value: string | undefined): string | undefined {
  const v = (value ?? '').trim();
  if (v === '') {
    return undefined;
  }
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `"${v}" is not a URL: use e.g. http://host:8080`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return 'The URL must start with http:// or https://';
  }
  if (!u.host) {
    return 'The URL has no host';
  }
  return undefined;
}

/** Checks an integer setting; returns an error message or undefined. */
export function integerError(value: string, min: number): string | undefined {
  if (value.trim() === '') {
    return undefined;
  }
  const n = Number(value);
  if (!Number.isInteger(n)) {
    return 'Must be a whole number';
  }
  if (n < min) {
    return `Must be at least ${min}`;
  }
  return undefined;
}

/** Applies replace to every string inside value (objects and arrays recursively); other values are kept. */
export function interpolateDeep<T>(value: T, replace: (s: string) => string): T {
  if (typeof value === 'string') {
    return replace(value) as unknown as T;
  }
  if (Array.isArray(value)) {
    return value.map((v) => interpolateDeep(v, replace)) as unknown as T;
  }
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // A nested data source reference may itself be a variable (${ds}); refId must stay as it is.
      out[k] = k === 'refId' ? v : interpolateDeep(v, replace);
    }
    return out as T;
  }
  return value;
}

/** Interpolates the Sheepdog-owned string fields of a query (not the nested query). */
export function interpolateOwnFields(q: SheepdogQuery, replace: (s: string) => string): SheepdogQuery {
  const s = q.source;
  const source: SheepdogSource = { ...s };
  if (s.type === 'prometheus') {
    if (s.expr !== undefined) {
      source.expr = replace(s.expr);
    }
    if (s.legendFormat !== undefined) {
      source.legendFormat = replace(s.legendFormat);
    }
  }
  if (s.datasource?.uid) {
    source.datasource = { ...s.datasource, uid: replace(s.datasource.uid) };
  }
  const out: SheepdogQuery = { ...q, source };
  if (q.detector) {
    const detector: DetectorOptions = { ...q.detector };
    for (const k of ['method', 'direction', 'seasonality', 'minDuration', 'history'] as const) {
      const v = q.detector[k];
      if (typeof v === 'string') {
        (detector as Record<string, unknown>)[k] = replace(v);
      }
    }
    // A dashboard variable may stand for the sensitivity ("$sensitivity"); the backend wants a number. A value that
    // is not one after interpolation is sent as it is, so the backend names the option in its error instead of the
    // query silently running with the default.
    const sens: unknown = q.detector.sensitivity;
    if (typeof sens === 'string') {
      const value = replace(sens).trim();
      const n = value === '' ? NaN : Number(value);
      (detector as Record<string, unknown>).sensitivity = Number.isFinite(n) ? n : value;
    }
    out.detector = detector;
  }
  if (q.alert) {
    const alert = { ...q.alert };
    for (const k of ['mode', 'window'] as const) {
      const v = q.alert[k];
      if (typeof v === 'string') {
        (alert as Record<string, unknown>)[k] = replace(v);
      }
    }
    out.alert = alert;
  }
  return out;
}
