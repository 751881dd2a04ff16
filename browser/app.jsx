/*
 * Test page application: plays the part of Grafana around the plugin. It provides the shared packages to an
 * AMD loader, loads the BUILT dist/module.js through it, sets the runtime services a Grafana boot sets
 * (data source, template and backend services), and renders the plugin's own editors with state, like the
 * data source settings page and a panel editor do. window.__harness exposes the state to the test driver.
 */
import { DataSourcePluginContextProvider, PluginType, usePluginContext } from '@grafana/data';
import { config, getDataSourceSrv, setBackendSrv, setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';
import { GlobalStyles, InlineField, Input, ThemeContext } from '@grafana/ui';
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { from, lastValueFrom, of, throwError } from 'rxjs';
import { mergeMap } from 'rxjs/operators';

import { DashboardPage, sceneAwareReplace } from './dashboard.jsx';
import { emptyPluginInfo, shared } from './shared.js';

const params = new URLSearchParams(location.search);
const pageName = params.get('page') ?? 'all';
// ?readOnly=1: the config editor of a provisioned data source (Grafana sets settings.readOnly for those).
// ?app=unified-alerting: the query editor as an alert rule hosts it (the app prop, a CoreApp value).
const readOnly = params.get('readOnly') === '1';
const queryApp = params.get('app') ?? 'panel-editor';

const harness = (window.__harness = {
  requests: [],
  options: undefined,
  query: undefined,
  annotation: undefined,
  runs: 0,
});

// --- AMD loader, as Grafana's SystemJS AMD extra resolves plugin modules -------------------------------------
let pending;
window.define = (deps, factory) => {
  if (typeof deps === 'function') {
    factory = deps;
    deps = [];
  }
  try {
    const args = deps.map((name) => {
      if (name === 'module') {
        return { uri: pending.url };
      }
      if (!(name in shared)) {
        throw new Error(`dist/module.js needs "${name}", which Grafana does not share with plugins`);
      }
      return shared[name];
    });
    pending.resolve(factory(...args));
  } catch (e) {
    pending.reject(e);
  }
};
window.define.amd = {};

function loadAmd(url) {
  return new Promise((resolve, reject) => {
    pending = { url, resolve, reject };
    const script = document.createElement('script');
    script.src = url;
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.appendChild(script);
  });
}

// --- Runtime services ---------------------------------------------------------------------------------------
const meta = (id, name, extra = {}) => ({
  id,
  name,
  type: PluginType.datasource,
  module: '',
  baseUrl: '',
  info: emptyPluginInfo(),
  metrics: true,
  ...extra,
});
const settingsOf = (uid, name, type, m, jsonData = {}) => ({
  id: uid.length,
  uid,
  name,
  type,
  meta: m,
  jsonData,
  access: 'proxy',
  readOnly: false,
});

const sheepdogSettings = settingsOf(
  'sheepdog',
  'Sheepdog',
  'sheepdog-anomaly-datasource',
  meta('sheepdog-anomaly-datasource', 'Sheepdog', { backend: true, annotations: true }),
  { allowedDatasources: ['test-prom'], prometheusUrl: 'http://prometheus:9090' }
);

// Stands in for another installed data source plugin (Prometheus): its own query editor and defaults.
// It shows the plugin context it is rendered in, as Prometheus's editor reads its own settings from it.
function TestPromEditor({ query, onChange, onRunQuery }) {
  const context = usePluginContext();
  return (
    <InlineField label="Metric" description={`context: ${context?.instanceSettings?.uid ?? 'none'}`}>
      <Input
        aria-label="Test Prometheus expr"
        width={40}
        value={query.expr ?? ''}
        onChange={(e) => onChange({ ...query, expr: e.currentTarget.value })}
        onBlur={onRunQuery}
        data-context={context?.instanceSettings?.uid ?? 'none'}
      />
    </InlineField>
  );
}
// Test Prometheus is the org's default data source, as a Prometheus often is.
const testPromSettings = {
  ...settingsOf('test-prom', 'Test Prometheus', 'prometheus', meta('prometheus', 'Prometheus')),
  isDefault: true,
};
const testProm = {
  ...testPromSettings,
  instanceSettings: testPromSettings,
  components: { QueryEditor: TestPromEditor },
  getDefaultQuery: () => ({ expr: 'up', range: true }),
};
const lokiSettings = settingsOf('loki', 'Loki', 'loki', meta('loki', 'Loki', { logs: true }));

const dashboardVars = { job: 'api', env: 'prod' };
const plainReplace = (target, scopedVars) =>
  (target ?? '').replace(/\$(\w+)|\$\{(\w+)(?::\w+)?\}/g, (m, a, b) => {
    const n = a ?? b;
    if (scopedVars && scopedVars[n]) {
      return String(scopedVars[n].value);
    }
    return n in dashboardVars ? dashboardVars[n] : m;
  });
setTemplateSrv({
  getVariables: () => [],
  containsTemplate: (t) => /\$\w+|\$\{/.test(t ?? ''),
  updateTimeRange: () => {},
  replace: sceneAwareReplace(plainReplace),
});

let sheepdog;
const all = () => [sheepdogSettings, testPromSettings, lokiSettings];
setDataSourceSrv({
  get: async (ref) => {
    const uid = typeof ref === 'string' ? ref : ref?.uid;
    if (uid === 'test-prom' || uid === 'Test Prometheus') {
      return testProm;
    }
    if (uid === 'sheepdog') {
      return sheepdog;
    }
    throw new Error(`Data source ${uid} was not found`);
  },
  getList: (filters = {}) =>
    all().filter((s) => (!filters.metrics || s.meta.metrics) && (!filters.filter || filters.filter(s))),
  // As Grafana's DatasourceSrv.getInstanceSettings (public/app/features/plugins/datasource_srv.ts): no ref (null,
  // undefined) means the default data source; 'default' names it too.
  getInstanceSettings: (ref) => {
    const uid = typeof ref === 'string' ? ref : ref?.uid;
    if (uid === undefined || uid === null || uid === 'default') {
      return all().find((s) => s.isDefault);
    }
    return all().find((s) => s.uid === uid || s.name === uid);
  },
  reload: async () => {},
  registerRuntimeDataSource: () => {},
});

// The dashboard page talks to Grafana's API for real (browser/run.mjs forwards /api to internal/dshost and so to
// the plugin binary). Like Grafana's backend_srv, a status >= 400 is an error carrying {status, data}.
function realFetch(options) {
  harness.requests.push({ url: options.url, method: options.method, data: options.data });
  const url = options.params ? `${options.url}?${new URLSearchParams(options.params)}` : options.url;
  return from(
    fetch(url, {
      method: options.method ?? 'GET',
      headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
      body: options.data === undefined ? undefined : JSON.stringify(options.data),
    })
  ).pipe(
    mergeMap(async (r) => {
      const text = await r.text();
      let data = text;
      try {
        data = text ? JSON.parse(text) : {};
      } catch {}
      return { data, status: r.status, statusText: r.statusText, ok: r.ok, headers: r.headers, url, config: options };
    }),
    mergeMap((res) => (res.ok ? of(res) : throwError(() => res)))
  );
}
const realRequest = async (options) => (await lastValueFrom(realFetch(options))).data;
if (pageName.startsWith('dashboard')) {
  setBackendSrv({
    fetch: realFetch,
    get: (url, params) => realRequest({ url, params, method: 'GET' }),
    post: (url, data) => realRequest({ url, data, method: 'POST' }),
    put: (url, data) => realRequest({ url, data, method: 'PUT' }),
    delete: (url) => realRequest({ url, method: 'DELETE' }),
    request: realRequest,
    datasourceRequest: (o) => lastValueFrom(realFetch(o)),
  });
} else {
  // Records what the plugin sends to Grafana's API; answers /api/ds/query with an empty result.
  setBackendSrv({
    fetch: (options) => {
      harness.requests.push({ url: options.url, method: options.method, data: options.data });
      return of({
        data: { results: {} },
        status: 200,
        ok: true,
        headers: new Headers(),
        url: options.url,
        config: options,
      });
    },
    get: async () => ({}),
    post: async () => ({}),
    request: async () => ({}),
    datasourceRequest: async () => ({}),
  });
}

// --- Pages ----------------------------------------------------------------------------------------------------
function ConfigPage({ plugin }) {
  const Editor = plugin.components.ConfigEditor;
  const [options, setOptions] = useState({
    ...sheepdogSettings,
    orgId: 1,
    typeName: 'Sheepdog',
    typeLogoUrl: '',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    jsonData: {},
    secureJsonFields: { prometheusToken: true },
    // Provisioned: every setting filled in, so every control is on the page (and must be disabled).
    ...(readOnly && {
      readOnly: true,
      jsonData: {
        engine: 'remote',
        remoteUrl: 'http://sheepdog-api:8080',
        remoteRetries: 4,
        remoteTimeout: '3s',
        remoteFallback: true,
        allowedDatasources: ['test-prom'],
        prometheusUrl: 'http://prometheus:9090',
        prometheusAuth: 'bearer',
        prometheusHeaderName1: 'X-Scope-OrgID',
      },
      secureJsonFields: { prometheusToken: true, remoteApiKey: true, prometheusHeaderValue1: true },
    }),
  });
  harness.options = options;
  return (
    <section data-testid="config-page">
      <h2>Config editor</h2>
      <Editor
        options={options}
        onOptionsChange={(o) => {
          harness.options = o;
          setOptions(o);
        }}
      />
    </section>
  );
}

function QueryPage({ plugin, datasource }) {
  const Editor = plugin.components.QueryEditor;
  const [query, setQuery] = useState({ refId: 'A' });
  harness.query = query;
  return (
    <section data-testid="query-page">
      <h2>Query editor</h2>
      {/* As Grafana's QueryEditorRow hosts a data source's editor: inside its own plugin context. */}
      <DataSourcePluginContextProvider instanceSettings={sheepdogSettings}>
        <Editor
          datasource={datasource}
          query={query}
          app={queryApp}
          onChange={(q) => {
            harness.query = q;
            setQuery(q);
          }}
          onRunQuery={() => harness.runs++}
        />
      </DataSourcePluginContextProvider>
    </section>
  );
}

function AnnotationPage({ datasource }) {
  const Editor = datasource.annotations.QueryEditor;
  const [query, setQuery] = useState({ refId: 'Anno', source: { type: 'prometheus', expr: 'up' } });
  harness.annotation = query;
  return (
    <section data-testid="annotation-page">
      <h2>Annotation editor</h2>
      <Editor
        datasource={datasource}
        query={query}
        app="dashboard"
        onChange={(q) => {
          harness.annotation = q;
          setQuery(q);
        }}
        onRunQuery={() => {}}
      />
    </section>
  );
}

async function main() {
  const exports = await loadAmd('/dist/module.js');
  const plugin = exports.plugin;
  if (!plugin || !plugin.DataSourceClass) {
    throw new Error('dist/module.js does not export a DataSourcePlugin named "plugin"');
  }
  sheepdog = new plugin.DataSourceClass(sheepdogSettings);
  // Grafana's DatasourceSrv.loadDatasource (public/app/features/plugins/datasource_srv.ts) hands the instance its
  // plugin's components; panel and annotation editor hosts read datasource.components.
  sheepdog.components = plugin.components;
  harness.plugin = plugin;
  harness.datasource = sheepdog;
  harness.runQuery = async (targets, scopedVars = {}) => {
    const { lastValueFrom } = shared.rxjs;
    const before = harness.requests.length;
    await lastValueFrom(
      sheepdog.query({
        requestId: 'browser',
        app: 'dashboard',
        interval: '30s',
        intervalMs: 30000,
        range: { from: shared.moment(0), to: shared.moment(3600000), raw: { from: 'now-1h', to: 'now' } },
        scopedVars,
        targets,
        timezone: 'utc',
        startTime: Date.now(),
      })
    );
    return harness.requests.slice(before);
  };
  const page = pageName;
  const theme = config.theme2;
  harness.theme = { mode: theme.colors.mode, canvas: theme.colors.background.canvas };
  harness.defaultDatasource = () => getDataSourceSrv().getInstanceSettings(null)?.uid;
  // As Grafana's AppWrapper (public/app/AppWrapper.tsx, render) does: @grafana/ui's GlobalStyles inside the
  // ThemeProvider (public/app/core/utils/ConfigProvider.tsx) that provides config.theme2 through ThemeContext.
  createRoot(document.getElementById('root')).render(
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <div style={{ padding: 16, display: 'flex', flexDirection: 'column', gap: 32 }}>
        {(page === 'all' || page === 'config') && <ConfigPage plugin={plugin} />}
        {(page === 'all' || page === 'query') && <QueryPage plugin={plugin} datasource={sheepdog} />}
        {(page === 'all' || page === 'annotation') && <AnnotationPage datasource={sheepdog} />}
        {page === 'dashboard' && <DashboardPage plugin={plugin} datasource={sheepdog} harness={harness} />}
      </div>
    </ThemeContext.Provider>
  );
  harness.ready = true;
}

main().catch((e) => {
  harness.error = String(e && e.stack ? e.stack : e);
  console.error('harness failed:', e);
});
