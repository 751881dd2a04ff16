import { CoreApp } from '@grafana/data';
import { setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React, { useState } from 'react';

import { AnnotationEditor } from '../components/AnnotationEditor';
import { QueryEditor } from '../components/QueryEditor';
import { SheepdogOptions, SheepdogQuery } from '../types';
import { fakeDataSourceSrv, FakeTemplateSrv, newDataSource, promLikeDataSource } from '../testing/helpers';

function renderEditor(
  initial: SheepdogQuery,
  jsonData: SheepdogOptions = { allowedDatasources: ['prom-main'], prometheusUrl: 'http://prometheus:9090' },
  Editor: typeof QueryEditor = QueryEditor
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
