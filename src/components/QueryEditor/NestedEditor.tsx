import {
  CoreApp,
  DataSourceApi,
  DataSourceInstanceSettings,
  DataSourcePluginContextProvider,
  PanelData,
  TimeRange,
} from '@grafana/data';
import { getDataSourceSrv } from '@grafana/runtime';
import type { DataQuery } from '@grafana/schema';
import { Alert, ErrorBoundaryAlert, LoadingPlaceholder, Text, useStyles2 } from '@grafana/ui';
import React, { useEffect, useState } from 'react';

import { NestedQuery } from '../../types';
import { getStyles } from './styles';

interface Loaded {
  ds?: DataSourceApi;
  settings?: DataSourceInstanceSettings;
  error?: string;
}

/**
 * Renders the source data source's own query editor, so the nested query is built exactly as in a panel.
 *
 * Hosted the way Grafana hosts any query editor (grafana/grafana public/app/features/query/components/
 * QueryEditorRow.tsx, renderPluginEditor): inside DataSourcePluginContextProvider with that data source's instance
 * settings, so an editor reading usePluginContext() sees its own meta and settings rather than Sheepdog's, and with
 * data, range, queries and app.
 */
export function NestedEditor(props: {
  uid: string;
  query: NestedQuery;
  app?: CoreApp;
  range?: TimeRange;
  data?: PanelData;
  queries?: NestedQuery[];
  onChange: (q: NestedQuery) => void;
  onRunQuery: () => void;
}) {
  const { uid, query, app, range, data, queries, onChange, onRunQuery } = props;
  const styles = useStyles2(getStyles);
  const [state, setState] = useState<Loaded>({});
  useEffect(() => {
    let cancelled = false;
    getDataSourceSrv()
      .get({ uid })
      .then(
        (ds) => {
          if (!cancelled) {
            setState({ ds, settings: getDataSourceSrv().getInstanceSettings({ uid: ds.uid, type: ds.type }) });
          }
        },
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
  const ds = state.ds;
  const Editor = ds.components?.QueryEditor;
  if (!Editor) {
    return (
      <Alert severity="warning" title={`${ds.name} has no query editor`}>
        Sheepdog needs the data source&apos;s own query editor to build the nested query.
      </Alert>
    );
  }
  const ref = { uid: ds.uid, type: ds.type };
  const editor = (
    <Editor
      datasource={ds}
      query={{ ...query, refId: query.refId ?? 'A', datasource: ref }}
      onChange={(q: DataQuery) => onChange(q as NestedQuery)}
      onRunQuery={onRunQuery}
      range={range}
      data={data}
      queries={queries?.map((q) => ({ ...q, refId: q.refId ?? 'A', datasource: ref }))}
      app={app ?? CoreApp.PanelEditor}
    />
  );
  return (
    <div className={styles.nested} data-testid="sheepdog-nested-editor" aria-label={`${ds.name} query`}>
      <Text variant="bodySmall" color="secondary">
        {ds.name} query
      </Text>
      <ErrorBoundaryAlert>
        {state.settings ? (
          <DataSourcePluginContextProvider instanceSettings={state.settings}>{editor}</DataSourcePluginContextProvider>
        ) : (
          editor
        )}
      </ErrorBoundaryAlert>
    </div>
  );
}
