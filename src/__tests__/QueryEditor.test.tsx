import {
  AnnotationQuery,
  CoreApp,
  DataSourceApi,
  DataSourcePluginContextProvider,
  getDefaultTimeRange,
  LoadingState,
  PanelData,
  QueryEditorProps,
  usePluginContext,
} from '@grafana/data';
import { setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';
import type { DataQuery } from '@grafana/schema';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import fs from 'fs';
import path from 'path';
import React, { useEffect, useRef, useState } from 'react';

import { AnnotationEditor } from '../components/AnnotationEditor';
import { QueryEditor, QueryEditorHelp, SheepdogQueryEditorProps } from '../components/QueryEditor';
import type { DataSource } from '../datasource';
import { SheepdogOptions, SheepdogQuery } from '../types';
import {
  fakeDataSourceSrv,
  FakeTemplateSrv,
  instanceSettings,
  newDataSource,
  promLikeDataSource,
} from '../testing/helpers';

function renderEditor(
  initial: SheepdogQuery,
  jsonData: SheepdogOptions = { allowedDatasources: ['prom-main'], prometheusUrl: 'http://prometheus:9090' },
  Editor: typeof QueryEditor = QueryEditor,
  extra: Partial<SheepdogQueryEditorProps> = {}
) {
  const changes: SheepdogQuery[] = [];
  const onRunQuery = jest.fn();
  const datasource = newDataSource(jsonData);
  function Panel() {
    const [query, setQuery] = useState(initial);
    return (
      <Editor
        datasource={datasource}
        query={query}
        app={CoreApp.PanelEditor}
        {...extra}
        onRunQuery={onRunQuery}
        onChange={(q) => {
          changes.push(q);
          setQuery(q);
        }}
      />
    );
  }
  render(<Panel />);
  return { changes, onRunQuery, last: () => changes[changes.length - 1] };
}

/** The detector options are collapsed by default (like Prometheus's Options row): open them. */
async function openOptions() {
  await userEvent.click(screen.getByRole('button', { name: /Detector options/ }));
}

async function typeFast(el: HTMLElement, text: string) {
  await userEvent.click(el);
  await userEvent.paste(text);
}

beforeEach(() => {
  setTemplateSrv(new FakeTemplateSrv());
  setDataSourceSrv(
    fakeDataSourceSrv([promLikeDataSource('prom-main', 'Prometheus main'), promLikeDataSource('prom-other', 'Other')])
  );
});

describe('QueryEditor', () => {
  it('gives a new query the defaults, so picking a source is enough', async () => {
    const { changes } = renderEditor({ refId: 'A' } as SheepdogQuery);
    await waitFor(() => expect(changes.length).toBeGreaterThan(0));
    expect(changes[0]).toEqual({
      refId: 'A',
      source: { type: 'datasource' },
      detector: { method: 'auto', sensitivity: 50, direction: 'both', seasonality: 'auto' },
      outputs: ['bands', 'windows'],
    });
    expect(screen.getByRole('radio', { name: 'Data source' })).toBeChecked();
  });

  it('migrates an older flat query once, and shows it', async () => {
    const { changes } = renderEditor({ refId: 'A', expr: 'up', method: 'robust' } as unknown as SheepdogQuery);
    await waitFor(() => expect(changes).toHaveLength(1));
    expect(changes[0]).toEqual({
      refId: 'A',
      source: { type: 'prometheus', expr: 'up' },
      detector: { method: 'robust' },
    });
    expect(screen.getByLabelText('PromQL expression')).toHaveValue('up');
  });

  it('builds a PromQL query and runs it on blur', async () => {
    const { last, onRunQuery } = renderEditor({ refId: 'B', source: { type: 'csv' } });
    await userEvent.click(screen.getByRole('radio', { name: 'Prometheus URL' }));
    await typeFast(screen.getByLabelText('PromQL expression'), 'rate(http_requests_total[5m])');
    await typeFast(screen.getByLabelText('Legend format'), '{{instance}}');
    await userEvent.tab();
    expect(last().source).toEqual({
      type: 'prometheus',
      expr: 'rate(http_requests_total[5m])',
      legendFormat: '{{instance}}',
    });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('warns when PromQL is chosen but no URL is configured', async () => {
    renderEditor({ refId: 'A', source: { type: 'prometheus' } }, { allowedDatasources: ['*'] });
    expect(screen.getByText('No Prometheus URL is configured')).toBeInTheDocument();
  });

  it('takes inline CSV', async () => {
    const { last } = renderEditor({ refId: 'A', source: { type: 'datasource' } });
    await userEvent.click(screen.getByRole('radio', { name: 'Inline CSV' }));
    await typeFast(screen.getByLabelText('Inline CSV', { selector: 'textarea' }), 'timestamp,value\n1700000000,1\n');
    expect(last().source).toEqual({ type: 'csv', csv: 'timestamp,value\n1700000000,1\n' });
  });

  it("embeds the source data source's own query editor and keeps its query nested", async () => {
    const { last } = renderEditor({
      refId: 'C',
      source: {
        type: 'datasource',
        datasource: { uid: 'prom-main', type: 'prometheus' },
        query: { refId: 'C', expr: 'up' },
      },
    });
    const nested = await screen.findByLabelText('Nested expr');
    expect(nested).toHaveValue('up');
    await userEvent.type(nested, '{backspace}{backspace}p');
    expect(last().source).toEqual({
      type: 'datasource',
      datasource: { uid: 'prom-main', type: 'prometheus' },
      query: { refId: 'C', expr: 'p', datasource: { uid: 'prom-main', type: 'prometheus' } },
    });
  });

  it('offers only allowed data sources and starts from the picked one’s default query', async () => {
    const { last } = renderEditor({ refId: 'A', source: { type: 'datasource' } });
    await userEvent.click(screen.getByText('Pick a data source'));
    expect(await screen.findByText('Prometheus main')).toBeInTheDocument();
    expect(screen.queryByText('Other')).not.toBeInTheDocument();
    await userEvent.click(screen.getByText('Prometheus main'));
    await waitFor(() =>
      expect(last().source).toEqual({
        type: 'datasource',
        datasource: { uid: 'prom-main', type: 'prometheus' },
        query: { refId: 'A', expr: 'up', range: true },
      })
    );
    expect(await screen.findByLabelText('Nested expr')).toHaveValue('up');
  });

  it('says so when no data source is allowed', () => {
    renderEditor({ refId: 'A', source: { type: 'datasource' } }, {});
    expect(screen.getByText('No source data sources are allowed yet')).toBeInTheDocument();
  });

  const promQuery: SheepdogQuery = { refId: 'A', source: { type: 'prometheus', expr: 'up' } };

  it('sets sensitivity and direction', async () => {
    const { last } = renderEditor(promQuery);
    await openOptions();
    const sensitivity = screen.getByLabelText('Sensitivity');
    expect(sensitivity).toHaveAttribute('placeholder', '50');
    await typeFast(sensitivity, '80');
    expect(last().detector?.sensitivity).toBe(80);
    await userEvent.click(screen.getByRole('radio', { name: 'Up' }));
    expect(last().detector?.direction).toBe('up');
  });

  it('validates durations inline and stores them', async () => {
    const { last } = renderEditor({ ...promQuery, detector: { minDuration: '5 min' } });
    expect(screen.getByText(/is not a duration/)).toBeInTheDocument();
    await typeFast(screen.getByLabelText('History'), '3d');
    expect(last().detector).toEqual({ minDuration: '5 min', history: '3d' });
  });

  it('toggles outputs', async () => {
    const { last } = renderEditor(promQuery);
    const outputs = screen.getByRole('group', { name: 'Outputs' });
    expect(within(outputs).getByLabelText(/Bands/)).toBeChecked();
    expect(within(outputs).getByLabelText(/Score/)).not.toBeChecked();
    await userEvent.click(within(outputs).getByLabelText(/Score/));
    expect(last().outputs).toEqual(['bands', 'score', 'windows']);
  });

  it('sets alert options', async () => {
    const { last } = renderEditor(promQuery);
    await userEvent.click(screen.getByLabelText('Alert frames'));
    await userEvent.click(screen.getByRole('radio', { name: 'Latest score' }));
    expect(last().alert).toEqual({ enabled: true, mode: 'latest_score' });
    expect(screen.queryByLabelText('Alert window')).not.toBeInTheDocument();
  });

  it('shows the method with its description', async () => {
    renderEditor({ refId: 'A', source: { type: 'prometheus', expr: 'up' }, detector: { method: 'robust' } });
    await openOptions();
    expect(screen.getByLabelText('Detection method')).toHaveValue('Robust');
  });
});

describe('AnnotationEditor', () => {
  it('is the query editor without output and alert choices', async () => {
    const { last } = renderEditor(
      { refId: 'Anno', source: { type: 'prometheus', expr: 'up' } },
      { prometheusUrl: 'http://p:9090' },
      AnnotationEditor
    );
    expect(screen.queryByRole('group', { name: 'Outputs' })).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Alert frames')).not.toBeInTheDocument();
    await openOptions();
    await userEvent.click(screen.getByRole('radio', { name: 'Down' }));
    expect(last().detector?.direction).toBe('down');
  });
});

describe('the nested editor is hosted as Grafana hosts a query editor', () => {
  /*
   * grafana/grafana public/app/features/query/components/QueryEditorRow.tsx, renderPluginEditor: the editor of a
   * data source is wrapped in DataSourcePluginContextProvider with that source's instance settings and gets data,
   * range, queries and app. Sheepdog's own editor sits in such a provider with Sheepdog's settings; the nested one
   * must see its own.
   */
  it('gives the nested editor its own plugin context, and data, range, queries and app', async () => {
    const seen: Array<Record<string, unknown>> = [];
    function ContextReadingEditor(props: QueryEditorProps<DataSourceApi, DataQuery>) {
      const ctx = usePluginContext() as { meta: { id: string }; instanceSettings?: { uid: string } } | null;
      seen.push({
        meta: ctx?.meta.id,
        uid: ctx?.instanceSettings?.uid,
        app: props.app,
        range: props.range,
        queries: props.queries,
        data: props.data,
      });
      return <span>nested editor</span>;
    }
    const prom = promLikeDataSource('prom-main', 'Prometheus main');
    (prom.components as { QueryEditor: unknown }).QueryEditor = ContextReadingEditor;
    setDataSourceSrv(fakeDataSourceSrv([prom]));

    const range = getDefaultTimeRange();
    const data = { state: LoadingState.Done, series: [], timeRange: range } as PanelData;
    const query: SheepdogQuery = {
      refId: 'A',
      source: {
        type: 'datasource',
        datasource: { uid: 'prom-main', type: 'prometheus' },
        query: { refId: 'A', expr: 'up' },
      },
    };
    const other: SheepdogQuery = { refId: 'B', source: { type: 'csv', csv: 't,v' } };
    const datasource = newDataSource({ allowedDatasources: ['prom-main'] });
    render(
      <DataSourcePluginContextProvider instanceSettings={instanceSettings({ allowedDatasources: ['prom-main'] })}>
        <QueryEditor
          datasource={datasource}
          query={query}
          queries={[query, other]}
          data={data}
          range={range}
          app={CoreApp.Explore}
          onChange={() => {}}
          onRunQuery={() => {}}
        />
      </DataSourcePluginContextProvider>
    );
    expect(await screen.findByText('nested editor')).toBeInTheDocument();
    const last = seen[seen.length - 1];
    expect(last.meta).toBe('prometheus');
    expect(last.uid).toBe('prom-main');
    expect(last.app).toBe(CoreApp.Explore);
    expect(last.range).toBe(range);
    expect(last.data).toBe(data);
    // The panel's queries as the nested source knows them: its own query model, not Sheepdog's wrapper.
    expect(last.queries).toEqual([{ refId: 'A', expr: 'up', datasource: { uid: 'prom-main', type: 'prometheus' } }]);
  });
});

/*
 * The loop of Grafana's annotation editor (grafana/grafana
 * public/app/features/annotations/components/StandardAnnotationQueryEditor.tsx): verifyDataSource runs on mount and
 * whenever the annotation object changes; it calls prepareAnnotation and either onChange(fixed) when the result is
 * another object, or runs the query (executeAnnotationQuery: prepareAnnotation on {...getDefaultQuery, ...anno},
 * then prepareQuery, then the data source's query). The editor gets {...getDefaultQuery(Dashboard), ...target}.
 */
describe('AnnotationEditor inside Grafana’s annotation editor loop', () => {
  const demo = JSON.parse(
    fs.readFileSync(path.resolve(__dirname, '../../provisioning/dashboards/anomalies-overview.json'), 'utf8')
  ).annotations.list.find((a: { name: string }) => a.name === 'Sheepdog anomalies') as AnnotationQuery<SheepdogQuery>;

  function GrafanaAnnotationHost(props: {
    ds: DataSource;
    initial: AnnotationQuery<SheepdogQuery>;
    onRun: (q: SheepdogQuery | undefined) => void;
    onLoop: () => void;
  }) {
    const { ds, onRun, onLoop } = props;
    const [annotation, setAnnotation] = useState(props.initial);
    const changes = useRef(0);
    const processor = ds.annotations!;
    useEffect(() => {
      const fixed = processor.prepareAnnotation!(annotation);
      if (fixed !== annotation) {
        changes.current++;
        if (changes.current > 10) {
          onLoop();
          return;
        }
        setAnnotation(fixed as AnnotationQuery<SheepdogQuery>);
      } else {
        const prepared = processor.prepareAnnotation!({ ...ds.getDefaultQuery(CoreApp.Dashboard), ...annotation });
        onRun(processor.prepareQuery!(prepared as AnnotationQuery<SheepdogQuery>));
      }
    }, [annotation, ds, processor, onRun, onLoop]);
    const Editor = processor.QueryEditor!;
    const query = { ...ds.getDefaultQuery(CoreApp.Dashboard), ...(annotation.target ?? { refId: 'Anno' }) };
    return (
      <Editor
        datasource={ds}
        query={query as SheepdogQuery}
        onChange={(target) => setAnnotation({ ...annotation, target: target as SheepdogQuery })}
        onRunQuery={() => onRun(processor.prepareQuery!(annotation))}
      />
    );
  }

  it.each([
    ['the demo dashboard annotation ($sensitivity)', demo],
    [
      'an annotation saved in the flat shape',
      { name: 'Old', enable: true, iconColor: 'red', expr: 'up', sensitivity: '80' },
    ],
    ['a new annotation', { name: 'New', enable: true, iconColor: 'red' }],
  ])('%s settles and its query runs', async (_name, initial) => {
    setTemplateSrv(new FakeTemplateSrv({ sensitivity: '70', metric: 'cpu_usage', host: 'web-1' }));
    const ds = newDataSource({ prometheusUrl: 'http://p:9090' });
    const runs: Array<SheepdogQuery | undefined> = [];
    const onLoop = jest.fn();
    render(
      <GrafanaAnnotationHost
        ds={ds}
        initial={initial as AnnotationQuery<SheepdogQuery>}
        onRun={(q) => runs.push(q)}
        onLoop={onLoop}
      />
    );
    expect(await screen.findByTestId('sheepdog-query-editor')).toBeInTheDocument();
    await waitFor(() => expect(runs.length).toBeGreaterThan(0));
    expect(onLoop).not.toHaveBeenCalled();
    if (initial === demo) {
      const q = runs[runs.length - 1]!;
      expect(q.outputs).toEqual(['windows']);
      // Interpolated at query time, like a panel's: applyTemplateVariables turns the variable into its value.
      expect(ds.applyTemplateVariables(q, {}).detector?.sensitivity).toBe(70);
    }
  });
});

describe('query editor layout and behaviour (issue 13)', () => {
  const promQuery: SheepdogQuery = { refId: 'A', source: { type: 'prometheus', expr: 'up' } };

  it('keeps the detector options collapsed behind a one-line summary', async () => {
    renderEditor({
      ...promQuery,
      detector: { method: 'robust', sensitivity: 70, seasonality: 'daily', minDuration: '5m' },
    });
    expect(screen.queryByLabelText('Sensitivity')).not.toBeInTheDocument();
    expect(screen.getByTestId('sheepdog-detector-summary')).toHaveTextContent(
      'Method: Robust · Sensitivity: 70 · Direction: Both · Seasonality: Daily · Min duration: 5m'
    );
    await openOptions();
    expect(screen.getByLabelText('Sensitivity')).toHaveValue('70');
  });

  it.each([CoreApp.UnifiedAlerting, CoreApp.CloudAlerting])(
    'in an alert rule (%s) hides outputs and the alert-frames switch',
    (app) => {
      renderEditor(promQuery, undefined, QueryEditor, { app });
      expect(screen.queryByRole('group', { name: 'Outputs' })).not.toBeInTheDocument();
      expect(screen.queryByLabelText('Alert frames')).not.toBeInTheDocument();
      expect(screen.getByRole('radio', { name: 'Anomaly fraction' })).toBeInTheDocument();
    }
  );

  it('disables outputs while alert frames are on', async () => {
    renderEditor(promQuery);
    const outputs = screen.getByRole('group', { name: 'Outputs' });
    expect(within(outputs).getByLabelText(/Score/)).toBeEnabled();
    await userEvent.click(screen.getByLabelText('Alert frames'));
    expect(within(outputs).getByLabelText(/Score/)).toBeDisabled();
  });

  it('gives each output checkbox its own id, so a click on the Outputs label toggles nothing', async () => {
    const { changes } = renderEditor(promQuery);
    const boxes = within(screen.getByRole('group', { name: 'Outputs' })).getAllByRole('checkbox');
    expect(new Set(boxes.map((b) => b.id)).size).toBe(4);
    const before = changes.length;
    await userEvent.click(screen.getByText('Outputs'));
    expect(changes.length).toBe(before);
    expect(boxes[0]).toBeChecked();
  });

  it('names the minimum duration as its label shows it', async () => {
    renderEditor(promQuery);
    await openOptions();
    expect(screen.getByRole('textbox', { name: 'Min duration' })).toBeInTheDocument();
  });

  it('clamps sensitivity to 0..100 and accepts a dashboard variable', async () => {
    const { last } = renderEditor(promQuery);
    await openOptions();
    const box = screen.getByLabelText('Sensitivity');
    await typeFast(box, '150');
    await userEvent.tab();
    expect(last().detector?.sensitivity).toBe(100);
    expect(box).toHaveValue('100');
    await userEvent.clear(box);
    await typeFast(box, '$sensitivity');
    expect(last().detector?.sensitivity).toBe('$sensitivity');
    await userEvent.clear(box);
    await typeFast(box, 'high');
    expect(screen.getByText(/A number from 0 to 100, or a dashboard variable/)).toBeInTheDocument();
  });

  it('shows a variable method as chosen', async () => {
    renderEditor({ ...promQuery, detector: { method: '$method' } });
    await openOptions();
    expect(screen.getByLabelText('Detection method')).toHaveValue('$method');
    expect(screen.queryByText(/Unknown method/)).not.toBeInTheDocument();
  });

  it('re-runs the query when "Alert on" changes, like the other radios', async () => {
    const { onRunQuery } = renderEditor(promQuery);
    onRunQuery.mockClear();
    await userEvent.click(screen.getByRole('radio', { name: 'Latest score' }));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('keeps what was typed for each source across Source switches', async () => {
    const { last } = renderEditor({
      refId: 'A',
      source: { type: 'prometheus', expr: 'rate(x[5m])', legendFormat: '{{job}}' },
    });
    await userEvent.click(screen.getByRole('radio', { name: 'Inline CSV' }));
    await typeFast(screen.getByLabelText('Inline CSV', { selector: 'textarea' }), 't,v\n1,1');
    await userEvent.click(screen.getByRole('radio', { name: 'Data source' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Prometheus URL' }));
    expect(last().source).toEqual({ type: 'prometheus', expr: 'rate(x[5m])', legendFormat: '{{job}}' });
    await userEvent.click(screen.getByRole('radio', { name: 'Inline CSV' }));
    expect(last().source).toEqual({ type: 'csv', csv: 't,v\n1,1' });
  });

  it('sets no minimum width on the PromQL box, so the editor fits 600 px', () => {
    renderEditor(promQuery);
    expect(getComputedStyle(screen.getByLabelText('PromQL expression')).minWidth).not.toBe('480px');
  });
});

describe('QueryEditorHelp', () => {
  it('offers three worked examples that fill the query', async () => {
    const onClickExample = jest.fn();
    render(
      <QueryEditorHelp
        datasource={newDataSource() as unknown as DataSourceApi<SheepdogQuery>}
        query={{ refId: 'A' } as SheepdogQuery}
        onClickExample={onClickExample}
      />
    );
    const buttons = screen.getAllByRole('button', { name: /Use example/ });
    expect(buttons).toHaveLength(3);
    expect(screen.getByText(/daily cycle/)).toBeInTheDocument();
    expect(screen.getByText(/Alert rule/)).toBeInTheDocument();
    await userEvent.click(buttons[1]);
    const q = onClickExample.mock.calls[0][0] as SheepdogQuery;
    expect(q.detector?.seasonality).toBe('daily');
    expect(q.source.type).toBe('prometheus');
  });
});
