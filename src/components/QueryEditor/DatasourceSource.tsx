import { CoreApp, PanelData, TimeRange } from '@grafana/data';
import { DataSourcePicker, getDataSourceSrv } from '@grafana/runtime';
import { Alert, InlineField, InlineFieldRow } from '@grafana/ui';
import React from 'react';

import { NestedQuery, PLUGIN_ID, SheepdogOptions, SheepdogQuery, SheepdogSource } from '../../types';
import { NestedEditor } from './NestedEditor';
import { LABEL_WIDTH } from './options';

export function DatasourceSource(props: {
  query: SheepdogQuery;
  jsonData: SheepdogOptions;
  app?: CoreApp;
  range?: TimeRange;
  data?: PanelData;
  queries?: SheepdogQuery[];
  onSource: (patch: Partial<SheepdogSource>) => void;
  onRunQuery: () => void;
}) {
  const { query, jsonData, app, range, data, queries, onSource, onRunQuery } = props;
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

  // The panel's other queries, as the nested data source sees them: the nested queries on the same source.
  const nestedQueries = ref?.uid
    ? (queries ?? [])
        .filter((q) => q.source?.type === 'datasource' && q.source.datasource?.uid === ref.uid && q.source.query)
        .map((q) => ({ ...q.source.query!, refId: q.source.query!.refId ?? q.refId }))
    : undefined;

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
          data={data}
          queries={nestedQueries}
          onChange={(q) => onSource({ query: q })}
          onRunQuery={onRunQuery}
        />
      )}
    </>
  );
}
