/* Choices and labels the query editor sections share: each lives here once. */
import { CoreApp, QueryEditorProps } from '@grafana/data';

import type { DataSource } from '../../datasource';
import { SEASONALITY_OPTIONS } from '../../generated/catalogue';
import { AlertMode, Output, SheepdogOptions, SheepdogQuery, SourceType } from '../../types';

export type SheepdogQueryEditorProps = QueryEditorProps<DataSource, SheepdogQuery, SheepdogOptions> & {
  /** The annotation editor hides the output and alert choices: annotations always use the windows. */
  variant?: 'query' | 'annotation';
};

export const LABEL_WIDTH = 16;

export const SOURCE_OPTIONS: Array<{ label: string; value: SourceType; description: string }> = [
  { label: 'Data source', value: 'datasource', description: 'Any allowed data source, with its own query editor' },
  {
    label: 'Prometheus URL',
    value: 'prometheus',
    description: 'PromQL against the URL set in the data source settings',
  },
  { label: 'Inline CSV', value: 'csv', description: 'Paste timestamp,value rows' },
];

/* Method and direction choices: the engine's catalogue, generated (go generate ./pkg/engine). */
export { DIRECTION_OPTIONS, METHOD_OPTIONS } from '../../generated/catalogue';

export const SEASONALITY_LABELS: Record<string, string> = Object.fromEntries(
  SEASONALITY_OPTIONS.map((o) => [o.value, o.label])
);

export const OUTPUT_LABELS: Record<Output, { label: string; description: string }> = {
  bands: { label: 'Bands', description: 'value, expected, lower and upper' },
  score: { label: 'Score', description: 'anomaly score 0..1' },
  flags: { label: 'Flags', description: '1 where anomalous' },
  windows: { label: 'Windows', description: 'anomaly regions as annotations' },
};

export const ALERT_MODE_OPTIONS: Array<{ label: string; value: AlertMode; description: string }> = [
  { label: 'Anomaly fraction', value: 'anomaly_fraction', description: 'Share of anomalous points in the window' },
  { label: 'Latest score', value: 'latest_score', description: 'Score of the newest point' },
];

/**
 * The editor hosts of an alert rule. Grafana passes app to every query editor it renders (grafana/grafana
 * public/app/features/query/components/QueryEditorRow.tsx, renderPluginEditor); alert rules always get alert frames,
 * so outputs and the alert-frames switch do nothing there.
 */
export const isAlertRule = (app?: CoreApp) => app === CoreApp.UnifiedAlerting || app === CoreApp.CloudAlerting;

/** Fields Grafana itself puts on every query: a query with nothing else is new and gets the defaults. */
export const GRAFANA_KEYS = new Set(['refId', 'hide', 'key', 'queryType', 'datasource', 'hidden']);
