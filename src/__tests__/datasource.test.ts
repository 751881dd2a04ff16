import { CoreApp, DataQueryRequest, dateTime, FieldType, toDataFrame } from '@grafana/data';
import { setBackendSrv, setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

import { SheepdogQuery } from '../types';
import {
  fakeDataSourceSrv,
  FakeTemplateSrv,
  newDataSource,
  promLikeDataSource,
  recordingBackendSrv,
} from '../testing/helpers';

const scopedVars = {
  __interval: { text: '30s', value: '30s' },
  __interval_ms: { text: '30000', value: 30000 },
  host: { text: 'web-1', value: 'web-1' },
};

beforeEach(() => {
  setTemplateSrv(new FakeTemplateSrv({ job: 'api', sens: '80', season: 'daily', ds: 'prom-main', win: '20m' }));
  setDataSourceSrv(fakeDataSourceSrv([promLikeDataSource()]));
});

describe('DataSource defaults and filtering', () => {
  it('returns a default query that only needs a source', () => {
    const ds = newDataSource({ allowedDatasources: ['prom-main'] });
    expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({
      source: { type: 'datasource' },
      detector: { method: 'auto', sensitivity: 50, direction: 'both', seasonality: 'auto' },
      outputs: ['bands', 'windows'],
    });
  });

  it('hides queries that are hidden or have no usable source, and runs migrated legacy ones', () => {
    const ds = newDataSource();
    expect(ds.filterQuery({ refId: 'A', source: { type: 'prometheus', expr: 'up' } })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', source: { type: 'prometheus', expr: '' } })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', hide: true, source: { type: 'csv', csv: 't,v\n1,1' } })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', expr: 'up' } as unknown as SheepdogQuery)).toBe(true);
    expect(ds.filterQuery({ refId: 'A' } as SheepdogQuery)).toBe(false);
  });
});

describe('applyTemplateVariables', () => {
  it('interpolates PromQL, legend and detector options, including $__interval', () => {
    const ds = newDataSource();
    const q: SheepdogQuery = {
      refId: 'A',
      source: { type: 'prometheus', expr: 'rate(x{job="$job"}[$__interval])', legendFormat: '{{pod}} $job' },
      detector: { seasonality: '$season', minDuration: '${__interval}', history: '$win' },
      alert: { window: '$win' },
    };
    expect(ds.applyTemplateVariables(q, scopedVars)).toEqual({
      refId: 'A',
      source: { type: 'prometheus', expr: 'rate(x{job="api"}[30s])', legendFormat: '{{pod}} api' },
      detector: { seasonality: 'daily', minDuration: '30s', history: '20m' },
      alert: { window: '20m' },
    });
  });

  it('does not touch inline CSV', () => {
    const ds = newDataSource();
    const csv = 'timestamp,$job\n1,1\n';
    expect(ds.applyTemplateVariables({ refId: 'A', source: { type: 'csv', csv } }, scopedVars).source.csv).toBe(csv);
  });

  it('interpolates every string of the nested query recursively when the source data source is not loaded', () => {
    const ds = newDataSource();
    const q: SheepdogQuery = {
      refId: 'C',
      source: {
        type: 'datasource',
        datasource: { uid: '${ds}', type: 'prometheus' },
        query: { refId: 'C', expr: 'up{job="$job"}', opts: { step: '$__interval', list: ['$job', 5] }, exemplar: true },
      },
    };
    const out = ds.applyTemplateVariables(q, scopedVars);
    expect(out.source.datasource).toEqual({ uid: 'prom-main', type: 'prometheus' });
    expect(out.source.query).toEqual({
      refId: 'C',
      expr: 'up{job="api"}',
      opts: { step: '30s', list: ['api', 5] },
      exemplar: true,
      datasource: { uid: 'prom-main', type: 'prometheus' },
    });
  });

  it('migrates a legacy flat query before interpolating', () => {
    const ds = newDataSource();
    const out = ds.applyTemplateVariables(
      { refId: 'A', expr: 'up{job="$job"}', method: 'robust' } as unknown as SheepdogQuery,
      scopedVars
    );
    expect(out).toEqual({
      refId: 'A',
      source: { type: 'prometheus', expr: 'up{job="api"}' },
      detector: { method: 'robust' },
    });
  });
});

describe('query', () => {
  it('loads the source data source, lets it format its query, then sends everything to /api/ds/query', async () => {
    const { srv, requests } = recordingBackendSrv();
    setBackendSrv(srv);
    const ds = newDataSource({ allowedDatasources: ['prom-main'] });
    const request = {
      requestId: 'r1',
      interval: '30s',
      intervalMs: 30000,
      range: { from: dateTime(0), to: dateTime(3600_000), raw: { from: 'now-1h', to: 'now' } },
      scopedVars,
      targets: [
        {
          refId: 'A',
          source: {
            type: 'datasource',
            datasource: { uid: '$ds', type: 'prometheus' },
            query: { refId: 'A', expr: 'rate(up{host=~"$host"}[$__interval])' },
          },
          detector: { method: 'robust' },
        },
        { refId: 'B', hide: true, source: { type: 'prometheus', expr: 'up' } },
      ],
      timezone: 'utc',
      app: CoreApp.Dashboard,
      startTime: 0,
    } as unknown as DataQueryRequest<SheepdogQuery>;

    await lastValueFrom(ds.query(request));

    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe('/api/ds/query?ds_type=sheepdog-anomaly-datasource&requestId=r1');
    const body = requests[0].data as { queries: Array<SheepdogQuery & { intervalMs: number }> };
    expect(body.queries).toHaveLength(1);
    const sent = body.queries[0];
    expect(sent.datasource).toEqual({ type: 'sheepdog-anomaly-datasource', uid: 'sheepdog' });
    expect(sent.source.query).toEqual({
      refId: 'A',
      expr: 'rate(up{host=~"(web-1)"}[30s])',
      interpolatedBy: 'prometheus',
      datasource: { uid: 'prom-main', type: 'prometheus' },
    });
    expect(sent.detector).toEqual({ method: 'robust' });
    expect(sent.intervalMs).toBe(30000);
  });
});

describe('nested query formatting', () => {
  it('does not interpolate again what the source data source formatted', async () => {
    const { srv, requests } = recordingBackendSrv();
    setBackendSrv(srv);
    const ds = newDataSource({ allowedDatasources: ['prom-main'] });
    await lastValueFrom(
      ds.query({
        requestId: 'r3',
        interval: '30s',
        intervalMs: 30000,
        range: { from: dateTime(0), to: dateTime(3600_000), raw: { from: 'now-1h', to: 'now' } },
        // A value holding `$job`: Prometheus escapes it to `\$job`, which must reach the backend as is.
        scopedVars: { ...scopedVars, host: { text: 'a$job', value: 'a$job' } },
        targets: [
          {
            refId: 'A',
            source: {
              type: 'datasource',
              datasource: { uid: 'prom-main', type: 'prometheus' },
              query: { refId: 'A', expr: 'up{host=~"$host", job="$job"}' },
            },
          },
        ],
        timezone: 'utc',
        app: CoreApp.Dashboard,
        startTime: 0,
      } as unknown as DataQueryRequest<SheepdogQuery>)
    );
    const body = requests[0].data as { queries: SheepdogQuery[] };
    expect(body.queries[0].source.query?.expr).toBe('up{host=~"(a\\$job)", job="api"}');
  });
});

describe('query edge cases', () => {
  const base = {
    requestId: 'r2',
    interval: '30s',
    intervalMs: 30000,
    range: { from: dateTime(0), to: dateTime(3600_000), raw: { from: 'now-1h', to: 'now' } },
    scopedVars,
    timezone: 'utc',
    app: CoreApp.Explore,
    startTime: 0,
  };

  it('sends nothing when no query is runnable', async () => {
    const { srv, requests } = recordingBackendSrv();
    setBackendSrv(srv);
    const res = await lastValueFrom(
      newDataSource().query({
        ...base,
        targets: [{ refId: 'A', source: { type: 'csv', csv: '' } }],
      } as unknown as DataQueryRequest<SheepdogQuery>)
    );
    expect(res.data).toEqual([]);
    expect(requests).toHaveLength(0);
  });

  it('still sends a query whose source data source cannot be loaded, interpolated generically', async () => {
    const { srv, requests } = recordingBackendSrv();
    setBackendSrv(srv);
    await lastValueFrom(
      newDataSource().query({
        ...base,
        targets: [
          {
            refId: 'A',
            source: {
              type: 'datasource',
              datasource: { uid: 'missing' },
              query: { refId: 'A', expr: 'up[$__interval]' },
            },
          },
        ],
      } as unknown as DataQueryRequest<SheepdogQuery>)
    );
    const body = requests[0].data as { queries: SheepdogQuery[] };
    expect(body.queries[0].source.query).toEqual({
      refId: 'A',
      expr: 'up[30s]',
      datasource: { uid: 'missing' },
    });
  });
});

describe('annotations', () => {
  const ds = newDataSource();

  it('migrates a stored annotation and asks only for windows', () => {
    const anno = ds.annotations!.prepareAnnotation!({
      name: 'Anomalies',
      enable: true,
      iconColor: 'red',
      target: { refId: 'Anno', expr: 'up' },
    } as never);
    expect(anno.target).toEqual({ refId: 'Anno', source: { type: 'prometheus', expr: 'up' } });
    const q = ds.annotations!.prepareQuery!(anno);
    expect(q).toEqual({ refId: 'Anno', source: { type: 'prometheus', expr: 'up' }, outputs: ['windows'] });
  });

  it('moves only the query fields of an annotation saved without a target, keeping its own fields', () => {
    const anno = ds.annotations!.prepareAnnotation!({
      name: 'Old anomalies',
      enable: true,
      hide: true,
      iconColor: 'red',
      datasource: { type: 'sheepdog-anomaly-datasource', uid: 'sheepdog' },
      expr: 'up',
      method: 'robust',
      alertMode: 'score',
    } as never);
    expect(anno).toEqual({
      name: 'Old anomalies',
      enable: true,
      hide: true,
      iconColor: 'red',
      datasource: { type: 'sheepdog-anomaly-datasource', uid: 'sheepdog' },
      target: { refId: 'Anno', source: { type: 'prometheus', expr: 'up' }, detector: { method: 'robust' } },
    });
    // The annotation's hide (its dashboard-controls toggle) does not hide the query.
    expect(ds.annotations!.prepareQuery!(anno)).toEqual({
      refId: 'Anno',
      source: { type: 'prometheus', expr: 'up' },
      detector: { method: 'robust' },
      outputs: ['windows'],
    });
  });

  it('never sends alert options with an annotation query', () => {
    const q = ds.annotations!.prepareQuery!({
      target: {
        refId: 'Anno',
        source: { type: 'prometheus', expr: 'up' },
        alert: { enabled: true, mode: 'score' },
      },
    } as never);
    expect(q).toEqual({ refId: 'Anno', source: { type: 'prometheus', expr: 'up' }, outputs: ['windows'] });
  });

  it('starts a new annotation from the query defaults without outputs', () => {
    expect(newDataSource({ prometheusUrl: 'http://p:9090' }).annotations!.getDefaultQuery!()).toEqual({
      source: { type: 'prometheus' },
      detector: { method: 'auto', sensitivity: 50, direction: 'both', seasonality: 'auto' },
    });
  });

  it('skips an annotation without a usable source', () => {
    expect(ds.annotations!.prepareQuery!({ target: { refId: 'A', source: { type: 'csv' } } } as never)).toBeUndefined();
  });

  it('reads tags sent as a JSON string array per window (the backend frame)', async () => {
    const windows = toDataFrame({
      name: 'anomalies',
      meta: { dataTopic: 'annotations' },
      fields: [
        { name: 'time', type: FieldType.time, values: [1000, 2000, 3000] },
        { name: 'timeEnd', type: FieldType.time, values: [1500, 2500, 3500] },
        { name: 'title', type: FieldType.string, values: ['a', 'b', 'c'] },
        { name: 'tags', type: FieldType.other, values: [['sheepdog', 'method:auto, robust'], [], '["x","y"]'] },
      ],
    });
    const events = await lastValueFrom(ds.annotations!.processEvents!({} as never, [windows]));
    expect(events!.map((e) => e.tags)).toEqual([
      ['sheepdog', 'method:auto, robust'],
      ['sheepdog', 'anomaly'],
      ['x', 'y'],
    ]);
  });

  it('turns the backend window frame into region events and ignores series frames', async () => {
    const windows = toDataFrame({
      name: 'anomalies',
      meta: { dataTopic: 'annotations' },
      fields: [
        { name: 'time', type: FieldType.time, values: [1000, 5000] },
        { name: 'timeEnd', type: FieldType.time, values: [3000, 5000] },
        { name: 'title', type: FieldType.string, values: ['Spike on cpu (high)', 'Dip on cpu (low)'] },
        { name: 'text', type: FieldType.string, values: ['cpu: spike above the expected range', ''] },
        { name: 'tags', type: FieldType.string, values: ['sheepdog,severity:high', ''] },
        { name: 'score', type: FieldType.number, values: [0.97, 0.61] },
      ],
    });
    const series = toDataFrame({
      name: 'cpu',
      fields: [
        { name: 'time', type: FieldType.time, values: [1000] },
        { name: 'cpu', type: FieldType.number, values: [1] },
      ],
    });
    const events = await lastValueFrom(ds.annotations!.processEvents!({} as never, [series, windows]));
    expect(events).toEqual([
      {
        time: 1000,
        timeEnd: 3000,
        isRegion: true,
        title: 'Spike on cpu (high)',
        text: 'cpu: spike above the expected range',
        tags: ['sheepdog', 'severity:high'],
      },
      {
        time: 5000,
        timeEnd: 5000,
        isRegion: false,
        title: 'Dip on cpu (low)',
        text: 'Anomaly in anomalies, score 0.61',
        tags: ['sheepdog', 'anomaly'],
      },
    ]);
  });
});
