/*
 * A dashboard made with @grafana/scenes (the library Grafana 12/13 dashboards run on) around the BUILT plugin:
 * SceneTimeRange, a SceneVariableSet with $sensitivity, a SceneDataLayerSet with an AnnotationsDataLayer (scenes'
 * standard annotation support: prepareAnnotation → prepareQuery → runRequest → processEvents), and a VizPanel whose
 * SceneQueryRunner queries the Sheepdog data source. Requests go through the plugin's DataSourceWithBackend to
 * /api/ds/query, which browser/run.mjs forwards to internal/dshost and so to the real plugin binary.
 *
 * What the page provides itself, each as Grafana does it (the files are Grafana 13's):
 *  - runRequest: public/app/features/query/state/runRequest.ts runRequest + processResponsePacket (frames with
 *    meta.dataTopic "annotations" go to PanelData.annotations, the rest to series; a loading state after 200 ms).
 *  - templateSrv.replace: public/app/features/templating/template_srv.ts replace() — with a scene object in
 *    scopedVars.__sceneObject, interpolation is sceneGraph.interpolate on that object.
 *  - the time-series panel: VizPanel needs a panel plugin from Grafana's registry, which is not a package; the
 *    page registers one through runtime's setPluginImportUtils whose component is @grafana/ui's TimeSeries graph
 *    (it fills custom.fillBelowTo bands) and draws the panel's annotations as regions/markers on the plot.
 *  - the annotation editor host: public/app/features/annotations/components/StandardAnnotationQueryEditor.tsx
 *    verifyDataSource() — onChange(prepareAnnotation(a)) when the result !== a, else run the query — with the
 *    editor inside DataSourcePluginContextProvider and query = {...getDefaultQuery(Dashboard, annotations),
 *    ...annotation.target}.
 *  - the panel query editor host: QueryEditorRow wraps the data source's QueryEditor in
 *    DataSourcePluginContextProvider with that data source's instance settings.
 */
import { css } from '@emotion/css';
import {
  CoreApp,
  DataSourcePluginContextProvider,
  DataTopic,
  EventBusSrv,
  FieldColorModeId,
  FieldConfigProperty,
  guessFieldTypes,
  LoadingState,
  PanelPlugin,
  standardFieldConfigEditorRegistry,
  toDataFrame,
} from '@grafana/data';
import { getDataSourceSrv, setAppEvents, setPluginImportUtils, setRunRequest } from '@grafana/runtime';
import { initializeLoggersRegistry } from '@grafana/runtime/unstable';
import {
  CustomVariable,
  dataLayers,
  EmbeddedScene,
  sceneGraph,
  SceneDataLayerControls,
  SceneDataLayerSet,
  SceneFlexItem,
  SceneFlexLayout,
  SceneQueryRunner,
  SceneTimeRange,
  SceneVariableSet,
  VariableValueSelectors,
  VizPanel,
} from '@grafana/scenes';
import { TimeSeries, useTheme2 } from '@grafana/ui';
import React from 'react';
import { from, merge, of, timer } from 'rxjs';
import { catchError, map, share, takeUntil } from 'rxjs/operators';

import { emptyPluginInfo } from './shared.js';

// --- runRequest (runRequest.ts) -------------------------------------------------------------------------------
function toPanelData(request, packets, state) {
  const series = [];
  const annotations = [];
  let error;
  for (const packet of Object.values(packets)) {
    if (packet.error) {
      state = LoadingState.Error;
      error = packet.error;
    }
    for (const item of packet.data ?? []) {
      (item.meta?.dataTopic === DataTopic.Annotations ? annotations : series).push(item);
    }
  }
  // preProcessPanelData/getProcessedDataFrames: guessFieldTypes(toDataFrame(x)) for both lists.
  const processed = (list) => list.map((x) => guessFieldTypes(toDataFrame(x)));
  return {
    state,
    series: processed(series),
    annotations: processed(annotations),
    error,
    errors: error ? [error] : undefined,
    request,
    timeRange: request.range,
  };
}

export function runRequest(datasource, request, queryFunction) {
  const loading = { state: LoadingState.Loading, series: [], request, timeRange: request.range };
  if (!request.targets.length) {
    return of({ ...loading, state: LoadingState.Done });
  }
  const packets = {};
  const data = from(queryFunction ? queryFunction(request) : datasource.query(request)).pipe(
    map((packet) => {
      if (!Array.isArray(packet.data)) {
        throw new Error(`Expected response data to be array, got ${typeof packet.data}.`);
      }
      packets[packet.key || 'A'] = packet;
      return toPanelData(request, packets, packet.state || LoadingState.Done);
    }),
    catchError((err) =>
      of({
        ...loading,
        state: LoadingState.Error,
        error: { message: err?.data?.message ?? err?.message ?? String(err) },
      })
    ),
    share()
  );
  return merge(
    timer(200).pipe(
      map(() => loading),
      takeUntil(data)
    ),
    data
  );
}

// --- templateSrv.replace (template_srv.ts) ---------------------------------------------------------------------
export function sceneAwareReplace(fallback) {
  return (target, scopedVars, format, interpolations) => {
    if (scopedVars && scopedVars.__sceneObject) {
      return sceneGraph.interpolate(
        scopedVars.__sceneObject.value.valueOf(),
        target,
        scopedVars,
        format,
        interpolations
      );
    }
    return fallback(target, scopedVars, format);
  };
}

// --- Time-series panel ------------------------------------------------------------------------------------------
const regionColour = (theme, colour) => theme.visualization.getColorByName(colour || 'red');

// Draws each annotation event of the panel: a shaded region from time to timeEnd when isRegion, else a line.
function drawAnnotations(u, frames, theme) {
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  ctx.save();
  for (const frame of frames) {
    const field = (name) => frame.fields.find((f) => f.name === name);
    const time = field('time');
    if (!time) {
      continue;
    }
    const timeEnd = field('timeEnd');
    const isRegion = field('isRegion');
    const color = field('color');
    for (let i = 0; i < frame.length; i++) {
      const c = regionColour(theme, color?.values[i]);
      const x0 = u.valToPos(time.values[i], 'x', true);
      const region = isRegion?.values[i] && timeEnd && timeEnd.values[i] > time.values[i];
      if (region) {
        const x1 = u.valToPos(timeEnd.values[i], 'x', true);
        ctx.fillStyle = c;
        ctx.globalAlpha = 0.18;
        ctx.fillRect(x0, top, Math.max(x1 - x0, 1), height);
        ctx.globalAlpha = 1;
        ctx.fillRect(x0, top + height - 4, Math.max(x1 - x0, 1), 4);
      } else {
        ctx.strokeStyle = c;
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(x0, top);
        ctx.lineTo(x0, top + height);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
  }
  ctx.restore();
}

function TimeSeriesPanel({ data, timeRange, timeZone, width, height }) {
  const theme = useTheme2();
  // What VizPanel hands its panel (after applyFieldOverrides), for the test driver.
  window.__panelData = data;
  const annotations = data.annotations ?? [];
  const regions = annotations.reduce((n, f) => n + f.length, 0);
  if (!data.series.length) {
    return <div data-testid="panel-empty">No data</div>;
  }
  return (
    <div data-testid="timeseries-panel" data-annotations={regions}>
      <TimeSeries
        frames={data.series}
        structureRev={data.structureRev}
        timeRange={timeRange}
        timeZone={timeZone}
        width={width}
        height={height}
        legend={{ showLegend: true, displayMode: 'list', placement: 'bottom', calcs: [] }}
      >
        {(builder) => {
          builder.addHook('draw', (u) => drawAnnotations(u, annotations, theme));
          return null;
        }}
      </TimeSeries>
    </div>
  );
}

// Grafana's boot fills the standard field-config registry with its option editors
// (public/app/core/components/OptionsUI/registry.tsx getAllStandardFieldConfigs); the page registers the one
// option its panel uses, the colour scheme, so VizPanel keeps it in the field config and applies it.
standardFieldConfigEditorRegistry.setInit(() => [
  {
    id: FieldConfigProperty.Color,
    path: FieldConfigProperty.Color,
    name: 'Color scheme',
    editor: () => null,
    override: () => null,
    process: (value) => value,
    shouldApply: () => true,
    defaultValue: { mode: FieldColorModeId.PaletteClassic },
  },
]);

// Like Grafana's time-series panel (public/app/plugins/panel/timeseries/module.tsx): standard field options with
// the classic palette as the default colour mode, so VizPanel's applyFieldOverrides gives each series a colour.
const timeSeriesPlugin = new PanelPlugin(TimeSeriesPanel)
  .useFieldConfig({
    standardOptions: { [FieldConfigProperty.Color]: { defaultValue: { mode: FieldColorModeId.PaletteClassic } } },
  })
  .setDataSupport({ annotations: true, alertStates: true });
timeSeriesPlugin.meta = {
  id: 'timeseries',
  name: 'Time series',
  type: 'panel',
  module: 'core:plugin/timeseries',
  baseUrl: '',
  sort: 0,
  info: emptyPluginInfo(),
};
setPluginImportUtils({
  importPanelPlugin: async (id) => {
    if (id !== 'timeseries') {
      throw new Error(`panel plugin ${id} is not installed on this page`);
    }
    return timeSeriesPlugin;
  },
  getPanelPluginFromCache: (id) => (id === 'timeseries' ? timeSeriesPlugin : undefined),
});
setRunRequest(runRequest);
// Grafana's boot initialises runtime's logger registry; runtime 13.2.3's getDataSourceInstance (used by scenes)
// logs through it when it falls back to getDataSourceSrv().get, the data source service this page sets.
initializeLoggersRegistry();
// Grafana's app boot (public/app/core/app_events.ts) sets one EventBusSrv as the app events; VizPanel hands it to
// panels as their eventBus (GraphNG subscribes to it).
setAppEvents(new EventBusSrv());
// For the test driver: scenes' graph helpers (lookupVariable, getTimeRange).
window.__scenes = { sceneGraph };

// --- Editors, hosted as Grafana hosts them ------------------------------------------------------------------------
export class AnnotationEditorHost extends React.PureComponent {
  state = { running: false, events: undefined };

  componentDidMount() {
    this.verifyDataSource();
  }

  componentDidUpdate(old) {
    if (this.props.annotation !== old.annotation) {
      this.verifyDataSource();
    }
  }

  verifyDataSource() {
    const { datasource, annotation, onChange } = this.props;
    const prepare = datasource.annotations?.prepareAnnotation ?? ((a) => a);
    const fixed = prepare(annotation);
    if (fixed !== annotation) {
      onChange(fixed);
    } else {
      this.onRunQuery();
    }
  }

  onRunQuery = () => {
    this.setState({ running: true });
    this.props.runAnnotation(this.props.annotation).then((events) => this.setState({ running: false, events }));
  };

  onQueryChange = (target) => this.props.onChange({ ...this.props.annotation, target });

  render() {
    const { datasource, annotation, range } = this.props;
    const Editor = datasource.annotations?.QueryEditor || datasource.components?.QueryEditor;
    const query = {
      ...datasource.getDefaultQuery?.(CoreApp.Dashboard, 'annotations'),
      ...(annotation.target ?? { refId: 'Anno' }),
    };
    const { running, events } = this.state;
    return (
      <>
        <DataSourcePluginContextProvider instanceSettings={getDataSourceSrv().getInstanceSettings(datasource.uid)}>
          <Editor
            key={datasource.name}
            query={query}
            datasource={datasource}
            onChange={this.onQueryChange}
            onRunQuery={this.onRunQuery}
            range={range}
            annotation={annotation}
            onAnnotationChange={this.props.onChange}
          />
        </DataSourcePluginContextProvider>
        <div data-testid="annotation-status">
          {running || !events ? 'loading...' : events.length ? `${events.length} events` : 'No events found'}
        </div>
      </>
    );
  }
}

export function QueryEditorHost({ datasource, query, onChange, onRunQuery, data, range }) {
  const Editor = datasource.components.QueryEditor;
  return (
    <DataSourcePluginContextProvider instanceSettings={getDataSourceSrv().getInstanceSettings(datasource.uid)}>
      <Editor
        datasource={datasource}
        query={query}
        app={CoreApp.PanelEditor}
        onChange={onChange}
        onRunQuery={onRunQuery}
        data={data}
        range={range}
        queries={[query]}
      />
    </DataSourcePluginContextProvider>
  );
}

// --- The dashboard ------------------------------------------------------------------------------------------------
export function buildDashboard({ datasourceRef, query, annotationTarget, legacyAnnotation, from, to }) {
  const runner = new SceneQueryRunner({
    datasource: datasourceRef,
    queries: [query],
    maxDataPoints: 1000,
  });
  const annotationLayer = new dataLayers.AnnotationsDataLayer({
    name: 'Sheepdog anomalies',
    // legacyAnnotation: saved by an older Sheepdog, the query fields next to the annotation's own (no target).
    query: {
      name: 'Sheepdog anomalies',
      enable: true,
      iconColor: 'red',
      datasource: datasourceRef,
      ...(legacyAnnotation ? annotationTarget : { target: annotationTarget }),
    },
  });
  const panel = new VizPanel({
    pluginId: 'timeseries',
    title: 'Requests per second (inline CSV) — band, anomaly windows',
    // A time-series panel as Grafana saves it: classic palette colours.
    fieldConfig: { defaults: { color: { mode: FieldColorModeId.PaletteClassic } }, overrides: [] },
    $data: runner,
  });
  const scene = new EmbeddedScene({
    $timeRange: new SceneTimeRange({ from, to, timeZone: 'utc' }),
    $variables: new SceneVariableSet({
      variables: [
        new CustomVariable({ name: 'sensitivity', label: 'Sensitivity', query: '30,50,80', value: '50', text: '50' }),
      ],
    }),
    $data: new SceneDataLayerSet({ layers: [annotationLayer] }),
    controls: [new VariableValueSelectors({}), new SceneDataLayerControls()],
    body: new SceneFlexLayout({
      direction: 'column',
      children: [new SceneFlexItem({ minHeight: 360, body: panel })],
    }),
  });
  return { scene, runner, annotationLayer, panel };
}

// Deterministic inline CSV: ten hours of a per-minute daily-ish wave with noise, and a level shift of 60 from
// 07:10 to 07:25. The dashboard shows 05:00–10:00, so five hours before it are history for the detector.
export function demoCsv() {
  const rows = ['timestamp,value'];
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < 600; i++) {
    let v = 100 + 20 * Math.sin((i * 2 * Math.PI) / 120) + (((i * 7919) % 13) - 6) * 0.8;
    if (i >= 430 && i < 445) {
      v += 60;
    }
    rows.push(`${new Date(t0 + i * 60000).toISOString().slice(0, 19).replace('T', ' ')},${v.toFixed(2)}`);
  }
  return rows.join('\n') + '\n';
}
export const DASHBOARD_FROM = '2024-01-01T05:00:00.000Z';
export const DASHBOARD_TO = '2024-01-01T10:00:00.000Z';

const styles = {
  page: css({ display: 'flex', flexDirection: 'column', gap: 16, maxWidth: 1200 }),
  box: css({ padding: 8 }),
};

export function DashboardPage({ datasource, harness }) {
  const [built] = React.useState(() => {
    const csv = demoCsv();
    return buildDashboard({
      datasourceRef: { uid: datasource.uid, type: datasource.type },
      query: {
        refId: 'A',
        source: { type: 'csv', csv },
        detector: { method: 'auto', sensitivity: '$sensitivity', direction: 'both', seasonality: 'auto' },
        outputs: ['bands', 'windows'],
      },
      annotationTarget: {
        refId: 'Anno',
        source: { type: 'csv', csv: csv.replace('timestamp,value', 'timestamp,checkout') },
        detector: { sensitivity: '$sensitivity' },
      },
      legacyAnnotation: new URLSearchParams(location.search).get('anno') === 'legacy',
      from: DASHBOARD_FROM,
      to: DASHBOARD_TO,
    });
  });
  const { scene, runner, annotationLayer } = built;
  const [query, setQuery] = React.useState(runner.state.queries[0]);
  const [annotation, setAnnotation] = React.useState(annotationLayer.state.query);
  const { data } = runner.useState();
  const range = sceneGraph.getTimeRange(scene).state.value;
  harness.dashboard = built;
  harness.annotationChanges = harness.annotationChanges ?? 0;
  harness.annotationRuns = harness.annotationRuns ?? [];
  harness.dashboardQuery = query;
  harness.dashboardAnnotation = annotation;

  // Runs the annotation through the scene's AnnotationsDataLayer (scenes' standard annotation support) and
  // resolves with the events it published.
  const runAnnotation = (a) =>
    new Promise((resolve) => {
      let armed = false;
      const sub = annotationLayer.getResultsStream().subscribe((r) => {
        if (armed && r.data.state !== LoadingState.Loading) {
          armed = false;
          setTimeout(() => sub.unsubscribe());
          const frame = r.data.series[0];
          const events = frame ? Array.from({ length: frame.length }, (_, i) => i) : [];
          harness.annotationRuns.push({ state: r.data.state, events: events.length, frame });
          resolve(events);
        }
      });
      armed = true;
      annotationLayer.setState({ query: { ...a, enable: true } });
      annotationLayer.runLayer();
    });

  return (
    <section data-testid="dashboard-page" className={styles.page}>
      <div data-testid="dashboard-scene">
        <scene.Component model={scene} />
      </div>
      <div data-testid="dashboard-query-editor" className={styles.box}>
        <h3>Panel query (Sheepdog query editor)</h3>
        <QueryEditorHost
          datasource={datasource}
          query={query}
          data={data}
          range={range}
          onChange={(q) => {
            harness.dashboardQuery = q;
            setQuery(q);
            runner.setState({ queries: [q] });
          }}
          onRunQuery={() => runner.runQueries()}
        />
      </div>
      <div data-testid="dashboard-annotation-editor" className={styles.box}>
        <h3>Annotation query (Sheepdog annotation editor)</h3>
        <AnnotationEditorHost
          datasource={datasource}
          annotation={annotation}
          range={range}
          runAnnotation={runAnnotation}
          onChange={(a) => {
            harness.annotationChanges++;
            harness.dashboardAnnotation = a;
            setAnnotation(a);
          }}
        />
      </div>
    </section>
  );
}
