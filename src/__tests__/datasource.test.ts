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

  it('passes on the isRegion and severity colour of the backend frame', async () => {
    const windows = toDataFrame({
      name: 'anomalies',
      meta: { dataTopic: 'annotations' },
      fields: [
        { name: 'time', type: FieldType.time, values: [1000, 2000, 3000] },
        { name: 'timeEnd', type: FieldType.time, values: [1500, 2500, 3000] },
        { name: 'isRegion', type: FieldType.boolean, values: [true, false, true] },
        { name: 'color', type: FieldType.string, values: ['orange', 'dark-red', ''] },
      ],
    });
    const events = await lastValueFrom(ds.annotations!.processEvents!({} as never, [windows]));
    expect(events!.map((e) => [e.isRegion, e.color])).toEqual([
      [true, 'orange'],
      [false, 'dark-red'],
      // No end: a point, and no colour given.
      [false, undefined],
    ]);
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

/*
 * Dashboard variables in detector and alert options (issue 10, item 5). The demo dashboard
 * provisioning/dashboards/anomalies-overview.json sets "sensitivity": "$sensitivity" in its panels and in its
 * annotation. Grafana interpolates through the data source: DataSourceWithBackend.query calls
 * applyTemplateVariables(query, request.scopedVars) per target (grafana/grafana
 * packages/grafana-runtime/src/utils/DataSourceWithBackend.ts, query), and annotation queries take the same path
 * after prepareQuery (public/app/features/annotations/executeAnnotationQuery.ts, executeAnnotationQuery).
 */
describe('dashboard variables in detector options', () => {
  const dashboard = JSON.parse(
    require('fs').readFileSync(
      require('path').resolve(__dirname, '../../provisioning/dashboards/anomalies-overview.json'),
      'utf8'
    )
  );
  const demoPanelTargets = (dashboard.panels as Array<{ targets?: SheepdogQuery[] }>)
    .flatMap((p) => p.targets ?? [])
    .filter((t) => (t.detector?.sensitivity as unknown) === '$sensitivity');
  const demoAnnotation = dashboard.annotations.list.find((a: { name: string }) => a.name === 'Sheepdog anomalies');

  const request = (targets: SheepdogQuery[]) =>
    ({
      requestId: 'vars',
      interval: '30s',
      intervalMs: 30000,
      range: { from: dateTime(0), to: dateTime(3600_000), raw: { from: 'now-1h', to: 'now' } },
      scopedVars,
      timezone: 'utc',
      app: CoreApp.Dashboard,
      startTime: 0,
      // The query runner has resolved the target's data source ("${detector}") to this one already.
      targets: targets.map(({ datasource: _resolved, ...t }) => t),
    }) as unknown as DataQueryRequest<SheepdogQuery>;

  beforeEach(() => {
    setTemplateSrv(
      new FakeTemplateSrv({
        sensitivity: '70',
        metric: 'cpu_usage',
        host: 'web-1',
        detector: 'sheepdog',
        method: 'robust',
        direction: 'up',
        season: 'daily',
        minDur: '5m',
        hist: '2d',
        mode: 'latest_score',
        win: '20m',
      })
    );
  });

  it('the demo panels send the value of $sensitivity, not the default', async () => {
    expect(demoPanelTargets.length).toBeGreaterThan(0);
    const { srv, requests } = recordingBackendSrv();
    setBackendSrv(srv);
    await lastValueFrom(newDataSource({ prometheusUrl: 'http://p:9090' }).query(request(demoPanelTargets)));
    const body = requests[0].data as { queries: SheepdogQuery[] };
    expect(body.queries.map((q) => q.detector?.sensitivity)).toEqual(demoPanelTargets.map(() => 70));
  });

  it('the demo annotation sends the value of $sensitivity, through prepareAnnotation and prepareQuery', async () => {
    const ds = newDataSource({ prometheusUrl: 'http://p:9090' });
    const anno = ds.annotations!.prepareAnnotation!(demoAnnotation);
    const q = ds.annotations!.prepareQuery!(anno);
    expect(q?.detector?.sensitivity).toBe('$sensitivity');
    const { srv, requests } = recordingBackendSrv();
    setBackendSrv(srv);
    await lastValueFrom(ds.query(request([{ ...q!, refId: 'Anno' }])));
    const sent = (requests[0].data as { queries: SheepdogQuery[] }).queries[0];
    expect(sent.detector).toEqual({
      method: 'auto',
      sensitivity: 70,
      seasonality: 'daily',
      history: '2d',
      minDuration: '2m',
    });
    expect(sent.outputs).toEqual(['windows']);
  });

  it('every detector and alert option may be a variable, in the current and the flat legacy shape', () => {
    const ds = newDataSource();
    const detector = {
      method: '$method',
      sensitivity: '${sensitivity}',
      direction: '[[direction]]',
      seasonality: '$season',
      minDuration: '$minDur',
      history: '$hist',
    } as const;
    const want = {
      method: 'robust',
      sensitivity: 70,
      direction: 'up',
      seasonality: 'daily',
      minDuration: '5m',
      history: '2d',
    };
    const current: SheepdogQuery = {
      refId: 'A',
      source: { type: 'prometheus', expr: 'up' },
      detector,
      alert: { mode: '$mode', window: '$win' },
    };
    expect(ds.applyTemplateVariables(current, {})).toMatchObject({
      detector: want,
      alert: { mode: 'latest_score', window: '20m' },
    });
    const flat = { refId: 'A', expr: 'up', ...detector, alertMode: '$mode' } as unknown as SheepdogQuery;
    expect(ds.applyTemplateVariables(flat, {})).toMatchObject({ detector: want, alert: { mode: 'latest_score' } });
  });

  it('sends a sensitivity that is no number after interpolation as it is, so the backend names it', () => {
    setTemplateSrv(new FakeTemplateSrv({ sensitivity: 'high' }));
    const q: SheepdogQuery = {
      refId: 'A',
      source: { type: 'prometheus', expr: 'up' },
      detector: { sensitivity: '$sensitivity' },
    };
    expect(newDataSource().applyTemplateVariables(q, {}).detector?.sensitivity).toBe('high');
  });
});

/*
 * Grafana's annotation editor loop (grafana/grafana
 * public/app/features/annotations/components/StandardAnnotationQueryEditor.tsx, verifyDataSource): on mount and on
 * every new annotation it calls prepareAnnotation and, when the result is another object, onChange with it instead
 * of running the query. The loop ends only if prepareAnnotation returns its input for a current annotation.
 */
describe('prepareAnnotation is idempotent', () => {
  const ds = newDataSource({ prometheusUrl: 'http://p:9090' });
  const prepare = ds.annotations!.prepareAnnotation!;

  it.each([
    [
      'current',
      {
        name: 'A',
        enable: true,
        iconColor: 'red',
        target: {
          refId: 'Anno',
          source: { type: 'prometheus', expr: 'up' },
          detector: { sensitivity: '$sensitivity' },
        },
      },
    ],
    [
      'legacy target',
      { name: 'A', enable: true, iconColor: 'red', target: { refId: 'Anno', expr: 'up', sensitivity: '80' } },
    ],
    ['flat legacy', { name: 'A', enable: true, iconColor: 'red', expr: 'up', method: 'robust' }],
    ['new, without target', { name: 'New', enable: true, iconColor: 'red', datasource: { uid: 'sheepdog' } }],
  ])('%s: a second call returns its input', (_name, stored) => {
    const once = prepare(stored as never);
    expect(prepare(once)).toBe(once);
  });

  it('returns a current annotation itself', () => {
    const anno = {
      name: 'A',
      enable: true,
      iconColor: 'red',
      target: { refId: 'Anno', source: { type: 'csv' as const, csv: 't,v' } },
    };
    expect(prepare(anno as never)).toBe(anno);
  });
});
