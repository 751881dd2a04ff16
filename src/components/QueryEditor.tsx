import { css } from '@emotion/css';
import { CoreApp, DataSourceApi, GrafanaTheme2, QueryEditorProps } from '@grafana/data';
import { DataSourcePicker, getDataSourceSrv } from '@grafana/runtime';
import {
  Alert,
  Checkbox,
  Combobox,
  ErrorBoundaryAlert,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  LoadingPlaceholder,
  RadioButtonGroup,
  Text,
  TextArea,
  useStyles2,
} from '@grafana/ui';
import React, { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';

import type { DataSource } from '../datasource';
import { defaultQuery, durationError, migrateQuery, needsMigration } from '../query';
import {
  ALERT_DEFAULTS,
  ALL_OUTPUTS,
  AlertMode,
  AlertOptions,
  DEFAULT_OUTPUTS,
  DETECTOR_DEFAULTS,
  DetectorOptions,
  Direction,
  MAX_CSV_BYTES,
  Method,
  NestedQuery,
  Output,
  PLUGIN_ID,
  SEASONALITY_PRESETS,
  SheepdogOptions,
  SheepdogQuery,
  SheepdogSource,
  SourceType,
} from '../types';

export type SheepdogQueryEditorProps = QueryEditorProps<DataSource, SheepdogQuery, SheepdogOptions> & {
  /** The annotation editor hides the output and alert choices: annotations always use the windows. */
  variant?: 'query' | 'annotation';
};

const SOURCE_OPTIONS: Array<{ label: string; value: SourceType; description: string }> = [
  { label: 'Data source', value: 'datasource', description: 'Any allowed data source, with its own query editor' },
  {
    label: 'Prometheus URL',
    value: 'prometheus',
    description: 'PromQL against the URL set in the data source settings',
  },
  { label: 'Inline CSV', value: 'csv', description: 'Paste timestamp,value rows' },
];

export const METHOD_OPTIONS: Array<{ label: string; value: Method; description: string }> = [
  { label: 'Auto', value: 'auto', description: 'Picks a method from the series: the right start for most metrics' },
  { label: 'Basic', value: 'basic', description: 'Rolling mean and spread: steady metrics without seasons' },
  { label: 'Robust', value: 'robust', description: 'Seasonal median and MAD: ignores past spikes, for noisy metrics' },
  { label: 'Agile', value: 'agile', description: 'Adapts fast to a new level: trending or drifting metrics' },
  {
    label: 'Change point',
    value: 'changepoint',
    description: 'Flags lasting shifts in level rather than single spikes',
  },
];

const DIRECTION_OPTIONS: Array<{ label: string; value: Direction; description: string }> = [
  { label: 'Both', value: 'both', description: 'Above or below the band' },
  { label: 'Up', value: 'up', description: 'Only above the band (spikes)' },
  { label: 'Down', value: 'down', description: 'Only below the band (drops)' },
];

const SEASONALITY_LABELS: Record<string, string> = {
  auto: 'Auto-detect',
  none: 'None',
  hourly: 'Hourly',
  daily: 'Daily',
  weekly: 'Weekly',
};

const OUTPUT_LABELS: Record<Output, { label: string; description: string }> = {
  bands: { label: 'Bands', description: 'value, expected, lower and upper' },
  score: { label: 'Score', description: 'anomaly score 0..1' },
  flags: { label: 'Flags', description: '1 where anomalous' },
  windows: { label: 'Windows', description: 'anomaly regions as annotations' },
};

const ALERT_MODE_OPTIONS: Array<{ label: string; value: AlertMode; description: string }> = [
  { label: 'Anomaly fraction', value: 'anomaly_fraction', description: 'Share of anomalous points in the window' },
  { label: 'Latest score', value: 'latest_score', description: 'Score of the newest point' },
];

const LABEL_WIDTH = 16;

export function QueryEditor(props: SheepdogQueryEditorProps) {
  const { query: rawQuery, onChange, onRunQuery, datasource, range, app, variant = 'query' } = props;
  const styles = useStyles2(getStyles);
  const jsonData = useMemo<SheepdogOptions>(() => datasource.settings ?? {}, [datasource]);

  // A new query ({refId}) gets the defaults; an older saved shape is migrated once and saved back.
  const query = useMemo<SheepdogQuery>(() => {
    if (!needsMigration(rawQuery)) {
      return rawQuery;
    }
    const migrated = migrateQuery(rawQuery);
    const isBlank = !('source' in (rawQuery as object)) && Object.keys(rawQuery).every((k) => GRAFANA_KEYS.has(k));
    return isBlank ? { ...defaultQuery(jsonData), ...migrated, detector: { ...DETECTOR_DEFAULTS } } : migrated;
  }, [rawQuery, jsonData]);
  useEffect(() => {
    if (query !== rawQuery) {
      onChange(query);
    }
  }, [query, rawQuery, onChange]);

  // The nested editor may call onChange after an await: always build on the newest query.
  const latest = useRef(query);
  useLayoutEffect(() => {
    latest.current = query;
  }, [query]);
  const update = (patch: Partial<SheepdogQuery>) => {
    const next = { ...latest.current, ...patch };
    latest.current = next;
    onChange(next);
  };
  const setSource = (patch: Partial<SheepdogSource>) => update({ source: { ...latest.current.source, ...patch } });
  const setDetector = (patch: Partial<DetectorOptions>) =>
    update({ detector: { ...latest.current.detector, ...patch } });
  const setAlert = (patch: Partial<AlertOptions>) => update({ alert: { ...latest.current.alert, ...patch } });

  const source = query.source;
  const detector = query.detector ?? {};

  return (
    <div className={styles.editor} data-testid="sheepdog-query-editor">
      <InlineFieldRow>
        <InlineField label="Source" labelWidth={LABEL_WIDTH} tooltip="Where the series to analyse come from">
          <RadioButtonGroup<SourceType>
            aria-label="Source type"
            options={SOURCE_OPTIONS}
            value={source.type}
            onChange={(type) => update({ source: { type } })}
          />
        </InlineField>
      </InlineFieldRow>

      {source.type === 'datasource' && (
        <DatasourceSource
          query={query}
          jsonData={jsonData}
          app={app}
          range={range}
          onSource={setSource}
          onRunQuery={onRunQuery}
        />
      )}
      {source.type === 'prometheus' && (
        <>
          {!jsonData.prometheusUrl && (
            <Alert severity="warning" title="No Prometheus URL is configured">
              Set one in this data source&apos;s settings (Source access, Prometheus-compatible URL), or pick a data
              source instead.
            </Alert>
          )}
          <InlineFieldRow>
            <InlineField label="PromQL" labelWidth={LABEL_WIDTH} grow>
              <TextArea
                aria-label="PromQL expression"
                className={styles.code}
                rows={2}
                value={source.expr ?? ''}
                placeholder='rate(http_requests_total{job="api"}[5m])'
                onChange={(e) => setSource({ expr: e.currentTarget.value })}
                onBlur={onRunQuery}
              />
            </InlineField>
          </InlineFieldRow>
          <InlineFieldRow>
            <InlineField label="Legend" labelWidth={LABEL_WIDTH} tooltip="Series name template, e.g. {{instance}}">
              <Input
                aria-label="Legend format"
                width={40}
                value={source.legendFormat ?? ''}
                placeholder="{{instance}}"
                onChange={(e) => setSource({ legendFormat: e.currentTarget.value })}
                onBlur={onRunQuery}
              />
            </InlineField>
          </InlineFieldRow>
        </>
      )}
      {source.type === 'csv' && (
        <CsvSource csv={source.csv ?? ''} onCsv={(csv) => setSource({ csv })} onRunQuery={onRunQuery} />
      )}

      <DetectorFields detector={detector} onDetector={setDetector} onRunQuery={onRunQuery} />

      {variant === 'query' && (
        <>
          <InlineFieldRow>
            <InlineField label="Outputs" labelWidth={LABEL_WIDTH} tooltip="What the query returns for each series">
              <div className={styles.checkboxes} role="group" aria-label="Outputs">
                {ALL_OUTPUTS.map((o) => {
                  const outputs = query.outputs?.length ? query.outputs : DEFAULT_OUTPUTS;
                  return (
                    <Checkbox
                      key={o}
                      label={OUTPUT_LABELS[o].label}
                      description={OUTPUT_LABELS[o].description}
                      value={outputs.includes(o)}
                      onChange={(e) => {
                        const on = e.currentTarget.checked;
                        const next = ALL_OUTPUTS.filter((x) => (x === o ? on : outputs.includes(x)));
                        update({ outputs: next.length ? next : undefined });
                        onRunQuery();
                      }}
                    />
                  );
                })}
              </div>
            </InlineField>
          </InlineFieldRow>
          <AlertFields alert={query.alert ?? {}} onAlert={setAlert} onRunQuery={onRunQuery} />
        </>
      )}
    </div>
  );
}

const GRAFANA_KEYS = new Set(['refId', 'hide', 'key', 'queryType', 'datasource', 'hidden']);

function DatasourceSource(props: {
  query: SheepdogQuery;
  jsonData: SheepdogOptions;
  app: SheepdogQueryEditorProps['app'];
  range: SheepdogQueryEditorProps['range'];
  onSource: (patch: Partial<SheepdogSource>) => void;
  onRunQuery: () => void;
}) {
  const { query, jsonData, app, range, onSource, onRunQuery } = props;
  const allowed = jsonData.allowedDatasources ?? [];
  const allowAll = allowed.includes('*');
  const ref = query.source.datasource;

  const onPick = async (uid: string, type: string) => {
    onSource({ datasource: { uid, type }, query: { refId: query.refId } });
    // Start from the data source's own default query, as a panel would.
    try {
      const ds = await getDataSourceSrv().get({ uid, type });
      const initial = ds.getDefaultQuery?.(app ?? CoreApp.PanelEditor) ?? {};
      onSource({ datasource: { uid, type }, query: { ...initial, refId: query.refId } as NestedQuery });
    } catch {
      // The nested editor reports load errors.
    }
  };

  return (
    <>
      {allowed.length === 0 && (
        <Alert severity="info" title="No source data sources are allowed yet">
          An admin adds them in this data source&apos;s settings under Source access, Allowed data sources.
        </Alert>
      )}
      <InlineFieldRow>
        <InlineField label="Data source" labelWidth={LABEL_WIDTH} tooltip="The data source whose series are analysed">
          <DataSourcePicker
            current={ref?.uid ?? null}
            metrics
            mixed={false}
            dashboard={false}
            variables
            noDefault
            width={40}
            placeholder="Pick a data source"
            filter={(ds) => ds.type !== PLUGIN_ID && (allowAll || allowed.includes(ds.uid))}
            onChange={(ds) => onPick(ds.uid, ds.type)}
          />
        </InlineField>
      </InlineFieldRow>
      {ref?.uid && (
        <NestedEditor
          key={ref.uid}
          uid={ref.uid}
          query={{ ...(query.source.query ?? {}), refId: query.source.query?.refId ?? query.refId }}
          app={app}
          range={range}
          onChange={(q) => onSource({ query: q })}
          onRunQuery={onRunQuery}
        />
      )}
    </>
  );
}

/** Renders the source data source's own query editor, so the nested query is built exactly as in a panel. */
function NestedEditor(props: {
  uid: string;
  query: NestedQuery;
  app: SheepdogQueryEditorProps['app'];
  range: SheepdogQueryEditorProps['range'];
  onChange: (q: NestedQuery) => void;
  onRunQuery: () => void;
}) {
  const { uid, query, app, range, onChange, onRunQuery } = props;
  const styles = useStyles2(getStyles);
  const [state, setState] = useState<{ ds?: DataSourceApi; error?: string }>({});
  useEffect(() => {
    let cancelled = false;
    getDataSourceSrv()
      .get({ uid })
      .then(
        (ds) => !cancelled && setState({ ds }),
        (err: unknown) => !cancelled && setState({ error: err instanceof Error ? err.message : String(err) })
      );
    return () => {
      cancelled = true;
    };
  }, [uid]);

  if (state.error) {
    return (
      <Alert severity="error" title={`Could not load data source ${uid}`}>
        {state.error}
      </Alert>
    );
  }
  if (!state.ds) {
    return <LoadingPlaceholder text="Loading the data source's query editor…" />;
  }
  const Editor = state.ds.components?.QueryEditor;
  if (!Editor) {
    return (
      <Alert severity="warning" title={`${state.ds.name} has no query editor`}>
        Sheepdog needs the data source&apos;s own query editor to build the nested query.
      </Alert>
    );
  }
  return (
    <div className={styles.nested} data-testid="sheepdog-nested-editor" aria-label={`${state.ds.name} query`}>
      <Text variant="bodySmall" color="secondary">
        {state.ds.name} query
      </Text>
      <ErrorBoundaryAlert>
        <Editor
          datasource={state.ds}
          query={{ ...query, refId: query.refId ?? 'A', datasource: { uid: state.ds.uid, type: state.ds.type } }}
          onChange={(q) => onChange(q as NestedQuery)}
          onRunQuery={onRunQuery}
          range={range}
          app={app}
        />
      </ErrorBoundaryAlert>
    </div>
  );
}

function CsvSource({ csv, onCsv, onRunQuery }: { csv: string; onCsv: (v: string) => void; onRunQuery: () => void }) {
  const styles = useStyles2(getStyles);
  const bytes = useMemo(() => new Blob([csv]).size, [csv]);
  const tooBig = bytes > MAX_CSV_BYTES;
  return (
    <InlineFieldRow>
      <InlineField
        label="CSV"
        labelWidth={LABEL_WIDTH}
        grow
        invalid={tooBig}
        error={tooBig ? `${bytes} bytes: inline CSV is limited to ${MAX_CSV_BYTES} bytes` : undefined}
        tooltip="First column: unix seconds, RFC3339 or YYYY-MM-DD HH:MM:SS (UTC). Other columns: values."
      >
        <TextArea
          aria-label="Inline CSV"
          className={styles.code}
          rows={8}
          value={csv}
          placeholder={'timestamp,value\n2024-01-01 00:00:00,1.5\n2024-01-01 00:01:00,1.7'}
          onChange={(e) => onCsv(e.currentTarget.value)}
          onBlur={onRunQuery}
        />
      </InlineField>
    </InlineFieldRow>
  );
}

function DetectorFields(props: {
  detector: DetectorOptions;
  onDetector: (patch: Partial<DetectorOptions>) => void;
  onRunQuery: () => void;
}) {
  const { detector, onDetector, onRunQuery } = props;
  const method = detector.method ?? DETECTOR_DEFAULTS.method;
  const seasonality = detector.seasonality || DETECTOR_DEFAULTS.seasonality;
  const sensitivity = detector.sensitivity;
  const sensitivityError =
    sensitivity !== undefined && (sensitivity < 0 || sensitivity > 100) ? 'Between 0 and 100' : undefined;
  const seasonalityOptions = useMemo(() => {
    const opts = SEASONALITY_PRESETS.map((v) => ({ label: SEASONALITY_LABELS[v], value: v as string }));
    if (!(SEASONALITY_PRESETS as readonly string[]).includes(seasonality)) {
      opts.push({ label: seasonality, value: seasonality });
    }
    return opts;
  }, [seasonality]);
  const seasonalityError = (SEASONALITY_PRESETS as readonly string[]).includes(seasonality)
    ? undefined
    : durationError(seasonality);
  const minDurationError = durationError(detector.minDuration, { allowZero: true });
  const historyError = detector.history === 'auto' ? undefined : durationError(detector.history, { allowZero: true });

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Method" labelWidth={LABEL_WIDTH} tooltip="How the expected value and band are computed">
          <Combobox<Method>
            aria-label="Detection method"
            width={36}
            options={METHOD_OPTIONS}
            value={method}
            onChange={(o) => {
              onDetector({ method: o.value });
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField
          label="Sensitivity"
          tooltip="0..100, default 50. Higher narrows the band and flags more points."
          invalid={!!sensitivityError}
          error={sensitivityError}
        >
          <Input
            aria-label="Sensitivity"
            type="number"
            min={0}
            max={100}
            step={1}
            width={10}
            value={sensitivity ?? ''}
            placeholder={String(DETECTOR_DEFAULTS.sensitivity)}
            onChange={(e) => {
              const v = e.currentTarget.value;
              onDetector({ sensitivity: v === '' ? undefined : Number(v) });
            }}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Direction" tooltip="Which side of the band counts as anomalous">
          <RadioButtonGroup<Direction>
            aria-label="Direction"
            options={DIRECTION_OPTIONS}
            value={detector.direction ?? DETECTOR_DEFAULTS.direction}
            onChange={(direction) => {
              onDetector({ direction });
              onRunQuery();
            }}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Seasonality"
          labelWidth={LABEL_WIDTH}
          tooltip="The repeating cycle of the metric. Type a duration such as 6h for a custom period."
          invalid={!!seasonalityError}
          error={seasonalityError}
        >
          <Combobox<string>
            aria-label="Seasonality"
            width={24}
            options={seasonalityOptions}
            value={seasonality}
            createCustomValue
            customValueDescription="Custom period"
            onChange={(o) => {
              onDetector({ seasonality: o.value });
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField
          label="Min duration"
          tooltip="Shortest anomaly reported, e.g. 5m. Default: a single point."
          invalid={!!minDurationError}
          error={minDurationError}
        >
          <Input
            aria-label="Minimum duration"
            width={12}
            value={detector.minDuration ?? ''}
            placeholder="1 point"
            onChange={(e) => onDetector({ minDuration: e.currentTarget.value || undefined })}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField
          label="History"
          tooltip="Data fetched before the time range so the band is ready at its left edge: auto, 0 (none) or e.g. 3d"
          invalid={!!historyError}
          error={historyError}
        >
          <Input
            aria-label="History"
            width={12}
            value={detector.history ?? ''}
            placeholder="auto"
            onChange={(e) => onDetector({ history: e.currentTarget.value || undefined })}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}

function AlertFields(props: {
  alert: AlertOptions;
  onAlert: (p: Partial<AlertOptions>) => void;
  onRunQuery: () => void;
}) {
  const { alert, onAlert, onRunQuery } = props;
  const mode = alert.mode ?? ALERT_DEFAULTS.mode;
  const windowError = durationError(alert.window);
  return (
    <InlineFieldRow>
      <InlineField
        label="Alert frames"
        labelWidth={LABEL_WIDTH}
        tooltip="Alert rules always get alert frames; switch on to see them in panels too"
      >
        <InlineSwitch
          aria-label="Alert frames"
          value={!!alert.enabled}
          onChange={(e) => {
            onAlert({ enabled: e.currentTarget.checked || undefined });
            onRunQuery();
          }}
        />
      </InlineField>
      <InlineField label="Alert on" tooltip="The number alert rules compare with a threshold">
        <RadioButtonGroup<AlertMode>
          aria-label="Alert mode"
          options={ALERT_MODE_OPTIONS}
          value={mode}
          onChange={(m) => onAlert({ mode: m })}
        />
      </InlineField>
      {mode === 'anomaly_fraction' && (
        <InlineField
          label="Window"
          tooltip="Trigger window for the anomaly fraction"
          invalid={!!windowError}
          error={windowError}
        >
          <Input
            aria-label="Alert window"
            width={10}
            value={alert.window ?? ''}
            placeholder={ALERT_DEFAULTS.window}
            onChange={(e) => onAlert({ window: e.currentTarget.value || undefined })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
    </InlineFieldRow>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  editor: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5) }),
  code: css({ fontFamily: theme.typography.fontFamilyMonospace, minWidth: 480 }),
  checkboxes: css({ display: 'flex', gap: theme.spacing(2), alignItems: 'center', flexWrap: 'wrap' }),
  nested: css({
    borderLeft: `2px solid ${theme.colors.border.medium}`,
    paddingLeft: theme.spacing(1),
    margin: theme.spacing(0.5, 0, 1, 0),
  }),
});
