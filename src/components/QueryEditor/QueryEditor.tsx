import { InlineField, InlineFieldRow, RadioButtonGroup, useStyles2 } from '@grafana/ui';
import React, { useEffect, useLayoutEffect, useMemo, useRef } from 'react';

import { defaultQuery, migrateQuery, needsMigration } from '../../query';
import {
  AlertOptions,
  DETECTOR_DEFAULTS,
  DetectorOptions as Detector,
  SheepdogOptions,
  SheepdogQuery,
  SheepdogSource,
  SourceType,
} from '../../types';
import { AlertFields } from './AlertFields';
import { CsvSource } from './CsvSource';
import { DatasourceSource } from './DatasourceSource';
import { DetectorOptions } from './DetectorOptions';
import { GRAFANA_KEYS, isAlertRule, LABEL_WIDTH, SheepdogQueryEditorProps, SOURCE_OPTIONS } from './options';
import { OutputsField } from './OutputsField';
import { PrometheusSource } from './PrometheusSource';
import { getStyles } from './styles';

export function QueryEditor(props: SheepdogQueryEditorProps) {
  const { query: rawQuery, onChange, onRunQuery, datasource, range, app, data, queries, variant = 'query' } = props;
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
  const setDetector = (patch: Partial<Detector>) => update({ detector: { ...latest.current.detector, ...patch } });
  const setAlert = (patch: Partial<AlertOptions>) => update({ alert: { ...latest.current.alert, ...patch } });

  // What was typed for each source stays while the editor is open, so trying another source loses nothing; only
  // the chosen source is stored in the query.
  const drafts = useRef<Partial<Record<SourceType, SheepdogSource>>>({});
  const switchSource = (type: SourceType) => {
    const current = latest.current.source;
    drafts.current[current.type] = current;
    update({ source: drafts.current[type] ?? { type } });
    onRunQuery();
  };

  const source = query.source;
  const inAlertRule = isAlertRule(app);

  return (
    <div className={styles.editor} data-testid="sheepdog-query-editor">
      <InlineFieldRow>
        <InlineField label="Source" labelWidth={LABEL_WIDTH} tooltip="Where the series to analyse come from">
          <RadioButtonGroup<SourceType>
            aria-label="Source type"
            options={SOURCE_OPTIONS}
            value={source.type}
            onChange={switchSource}
          />
        </InlineField>
      </InlineFieldRow>

      {source.type === 'datasource' && (
        <DatasourceSource
          query={query}
          jsonData={jsonData}
          app={app}
          range={range}
          data={data}
          queries={queries as SheepdogQuery[] | undefined}
          onSource={setSource}
          onRunQuery={onRunQuery}
        />
      )}
      {source.type === 'prometheus' && (
        <PrometheusSource
          source={source}
          configured={!!jsonData.prometheusUrl}
          onSource={setSource}
          onRunQuery={onRunQuery}
        />
      )}
      {source.type === 'csv' && (
        <CsvSource csv={source.csv ?? ''} onCsv={(csv) => setSource({ csv })} onRunQuery={onRunQuery} />
      )}

      <DetectorOptions detector={query.detector ?? {}} onDetector={setDetector} onRunQuery={onRunQuery} />

      {variant === 'query' && (
        <>
          {!inAlertRule && (
            <OutputsField
              outputs={query.outputs}
              disabled={!!query.alert?.enabled}
              onOutputs={(outputs) => update({ outputs })}
              onRunQuery={onRunQuery}
            />
          )}
          <AlertFields alert={query.alert ?? {}} inAlertRule={inAlertRule} onAlert={setAlert} onRunQuery={onRunQuery} />
        </>
      )}
    </div>
  );
}
