/*
 * Query and settings model. Mirrors pkg/models/query.go and pkg/models/settings.go field for field:
 * change both sides together (the fixtures in pkg/models/testdata are parsed by both test suites).
 */
import type { DataSourceJsonData } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';

import {
  DEFAULT_SENSITIVITY,
  DIRECTIONS,
  type Direction,
  type Method,
  METHODS,
  SEASONALITY_PRESETS,
  type SeasonalityPreset,
} from './generated/catalogue';
import {
  ALERT_DEFAULTS as GENERATED_ALERT_DEFAULTS,
  SETTINGS_DEFAULTS as GENERATED_SETTINGS_DEFAULTS,
} from './generated/settings';

export const PLUGIN_ID = 'sheepdog-anomaly-datasource';

export type SourceType = 'datasource' | 'prometheus' | 'csv';
export const SOURCE_TYPES: SourceType[] = ['datasource', 'prometheus', 'csv'];

/* Methods, directions, seasonality presets and the default sensitivity: generated from the engine's catalogue. */
export { DIRECTIONS, METHODS, SEASONALITY_PRESETS } from './generated/catalogue';
export type { Direction, Method } from './generated/catalogue';

/** A preset ("auto", "none", "hourly", "daily", "weekly") or a duration such as "6h". */
export type Seasonality = SeasonalityPreset | (string & {});

export type Output = 'bands' | 'score' | 'flags' | 'windows';
export const ALL_OUTPUTS: Output[] = ['bands', 'score', 'flags', 'windows'];
/** What a query with no outputs returns (models.DefaultOutputs). */
export const DEFAULT_OUTPUTS: Output[] = ['bands', 'windows'];

export type AlertMode = 'anomaly_fraction' | 'latest_score';
export const ALERT_MODES: AlertMode[] = ['anomaly_fraction', 'latest_score'];

/** models.DataSourceRef */
export interface SourceDataSourceRef {
  uid: string;
  type?: string;
}

/** models.Source */
export interface SheepdogSource {
  type: SourceType;
  /** For "datasource": the data source and its own query model, as its editor produced it. */
  datasource?: SourceDataSourceRef;
  query?: NestedQuery;
  /** For "prometheus": a PromQL expression and an optional legend template ("{{instance}}"). */
  expr?: string;
  legendFormat?: string;
  /** For "csv": "timestamp,value[,more values]" text. */
  csv?: string;
}

/** The nested data source's own query model. Opaque to Sheepdog apart from refId. */
export interface NestedQuery extends Partial<DataQuery> {
  [key: string]: unknown;
}

/**
 * A dashboard variable reference ("$sens", "${sens}", "[[sens]]"). Any detector or alert option may hold one: the
 * frontend interpolates it before the query is sent (applyTemplateVariables), so the backend only sees values.
 */
export type TemplateVariable = `$${string}` | `[[${string}]]`;

/** models.DetectorOptions. Empty fields take the engine's defaults. */
export interface DetectorOptions {
  method?: Method | TemplateVariable;
  /** 0..100, default 50; higher flags more. */
  sensitivity?: number | TemplateVariable;
  direction?: Direction | TemplateVariable;
  seasonality?: Seasonality;
  /** Shortest anomaly reported, e.g. "5m"; default one point. */
  minDuration?: string;
  /** "" or "auto" (enough seasons for the method), "0" (none) or a duration such as "3d". */
  history?: string;
}

/** models.AlertOptions */
export interface AlertOptions {
  /** Alert frames even when the request does not come from alerting. */
  enabled?: boolean;
  mode?: AlertMode | TemplateVariable;
  /** Trigger window for anomaly_fraction, default "10m". */
  window?: string;
}

/** models.Query plus Grafana's DataQuery fields (refId, hide, datasource, ...). */
export interface SheepdogQuery extends DataQuery {
  source: SheepdogSource;
  detector?: DetectorOptions;
  outputs?: Output[];
  alert?: AlertOptions;
}

export type Engine = 'embedded' | 'remote';
export type SourceAccess = 'service_account' | 'token';
export type PrometheusAuth = 'none' | 'basic' | 'bearer';

/** models.Settings: the data source's jsonData. Durations are Go/Grafana duration strings. */
export interface SheepdogOptions extends DataSourceJsonData {
  engine?: Engine;

  remoteUrl?: string;
  remoteTimeout?: string;
  remoteRetries?: number;
  remoteBackoffBase?: string;
  remoteBackoffMax?: string;
  remoteBreakerThreshold?: number;
  remoteBreakerCooldown?: string;
  remoteMaxInFlight?: number;
  /** Remote requests one query may make (before retries); more is refused with a 400. */
  remoteMaxCallsPerQuery?: number;
  remoteFallback?: boolean;
  remoteTlsSkipVerify?: boolean;

  sourceAccess?: SourceAccess;
  /** UIDs of the data sources Sheepdog may query; "*" allows all. Empty allows none. */
  allowedDatasources?: string[];

  prometheusUrl?: string;
  prometheusAuth?: PrometheusAuth;
  prometheusUser?: string;
  prometheusTlsSkipVerify?: boolean;

  /** Resource budgets (pkg/models/config.go): what one viewer's query or request may cost. */
  maxSeriesPerQuery?: number;
  maxPointsPerQuery?: number;
  maxPointsPerRequest?: number;
  alertCacheMaxMiB?: number;

  /** Custom header names for the Prometheus URL (Grafana's httpHeaderNameN convention); values are secret. */
  [key: PrometheusHeaderNameKey]: string | undefined;
}

/** Custom Prometheus headers: jsonData prometheusHeaderNameN, secureJsonData prometheusHeaderValueN (N = 1, 2, ...). */
export const PROMETHEUS_HEADER_NAME_PREFIX = 'prometheusHeaderName';
export const PROMETHEUS_HEADER_VALUE_PREFIX = 'prometheusHeaderValue';
export type PrometheusHeaderNameKey = `prometheusHeaderName${number}`;
export type PrometheusHeaderValueKey = `prometheusHeaderValue${number}`;
export const headerNameKey = (n: number): PrometheusHeaderNameKey => `${PROMETHEUS_HEADER_NAME_PREFIX}${n}`;
export const headerValueKey = (n: number): PrometheusHeaderValueKey => `${PROMETHEUS_HEADER_VALUE_PREFIX}${n}`;
/** Whether a jsonData or secureJsonData key is one of the numbered custom header keys. */
export const isPrometheusHeaderKey = (key: string) => /^prometheusHeader(Name|Value)[1-9]\d*$/.test(key);

/** secureJsonData keys (models.Secure*). Write-only from the browser: never read back. */
export interface SheepdogSecureJsonData {
  remoteApiKey?: string;
  remoteTlsCaCert?: string;
  grafanaToken?: string;
  prometheusPassword?: string;
  prometheusToken?: string;
  /** PEM of a CA trusted for the Prometheus URL, besides the system pool. */
  prometheusTlsCaCert?: string;
  [key: PrometheusHeaderValueKey]: string | undefined;
}
export type SecureKey = keyof SheepdogSecureJsonData;
export const SECURE_KEYS: SecureKey[] = [
  'remoteApiKey',
  'remoteTlsCaCert',
  'grafanaToken',
  'prometheusPassword',
  'prometheusToken',
  'prometheusTlsCaCert',
];

/**
 * Defaults the backend applies, shown as placeholders in the editors: generated from pkg/models/defaults.go
 * (src/generated/settings.ts), typed here.
 */
export const SETTINGS_DEFAULTS = {
  ...GENERATED_SETTINGS_DEFAULTS,
  engine: GENERATED_SETTINGS_DEFAULTS.engine as Engine,
  sourceAccess: GENERATED_SETTINGS_DEFAULTS.sourceAccess as SourceAccess,
  prometheusAuth: GENERATED_SETTINGS_DEFAULTS.prometheusAuth as PrometheusAuth,
};

export const DETECTOR_DEFAULTS: Required<
  Pick<DetectorOptions, 'method' | 'sensitivity' | 'direction' | 'seasonality'>
> = {
  // The catalogue lists each choice's default first.
  method: METHODS[0],
  sensitivity: DEFAULT_SENSITIVITY,
  direction: DIRECTIONS[0],
  seasonality: SEASONALITY_PRESETS[0],
};

/** Generated from pkg/models (src/generated/settings.ts), typed here. */
export const ALERT_DEFAULTS: Required<Pick<AlertOptions, 'mode' | 'window'>> = {
  mode: GENERATED_ALERT_DEFAULTS.mode as AlertMode,
  window: GENERATED_ALERT_DEFAULTS.window,
};

/** Largest inline CSV the backend accepts (models.MaxCSVBytes, generated). */
export { MAX_CSV_BYTES } from './generated/settings';

/*
 * JSON keys of each model, at run time. The fixture-parity test compares them with the json tags of the Go
 * structs in pkg/models, so a field added on one side only fails the tests.
 */
export const QUERY_KEYS = ['source', 'detector', 'outputs', 'alert'] as const;
export const SOURCE_KEYS = ['type', 'datasource', 'query', 'expr', 'legendFormat', 'csv'] as const;
export const DATASOURCE_REF_KEYS = ['uid', 'type'] as const;
export const DETECTOR_KEYS = ['method', 'sensitivity', 'direction', 'seasonality', 'minDuration', 'history'] as const;
export const ALERT_KEYS = ['enabled', 'mode', 'window'] as const;
/** The remote API's retry, backoff and breaker settings (the config editor's Resilience section). */
export const RESILIENCE_KEYS = [
  'remoteTimeout',
  'remoteRetries',
  'remoteBackoffBase',
  'remoteBackoffMax',
  'remoteBreakerThreshold',
  'remoteBreakerCooldown',
  'remoteMaxInFlight',
  'remoteMaxCallsPerQuery',
  'remoteFallback',
] as const;
export const SETTINGS_KEYS = [
  'engine',
  'remoteUrl',
  ...RESILIENCE_KEYS,
  'remoteTlsSkipVerify',
  'sourceAccess',
  'allowedDatasources',
  'prometheusUrl',
  'prometheusAuth',
  'prometheusUser',
  'prometheusTlsSkipVerify',
  'maxSeriesPerQuery',
  'maxPointsPerQuery',
  'maxPointsPerRequest',
  'alertCacheMaxMiB',
] as const;

// Compile-time checks that the key lists and the interfaces agree.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _queryKeys: Exact<(typeof QUERY_KEYS)[number], Exclude<keyof SheepdogQuery, keyof DataQuery>> = true;
const _sourceKeys: Exact<(typeof SOURCE_KEYS)[number], keyof SheepdogSource> = true;
const _refKeys: Exact<(typeof DATASOURCE_REF_KEYS)[number], keyof SourceDataSourceRef> = true;
const _detectorKeys: Exact<(typeof DETECTOR_KEYS)[number], keyof DetectorOptions> = true;
const _alertKeys: Exact<(typeof ALERT_KEYS)[number], keyof AlertOptions> = true;
const _settingsKeys: Exact<
  (typeof SETTINGS_KEYS)[number],
  Exclude<keyof SheepdogOptions, keyof DataSourceJsonData | PrometheusHeaderNameKey>
> = true;
export const KEY_LISTS_MATCH_TYPES = [_queryKeys, _sourceKeys, _refKeys, _detectorKeys, _alertKeys, _settingsKeys];
