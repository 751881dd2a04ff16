/*
 * Test doubles for the services a Grafana boot provides (template, data source and backend services).
 * They implement the behaviour the plugin relies on, no more.
 */
import {
  DataSourceApi,
  DataSourceInstanceSettings,
  DataSourcePluginMeta,
  PluginType,
  ScopedVars,
  TypedVariableModel,
} from '@grafana/data';
import { BackendSrv, DataSourceSrv, getTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { DataQuery } from '@grafana/schema';
import React from 'react';
import { Observable, of } from 'rxjs';

import { DataSource } from '../datasource';
import { PLUGIN_ID, SheepdogOptions } from '../types';

/** Replaces $name, ${name}, ${name:fmt} and [[name]] from scopedVars first, then dashboard variables. */
export class FakeTemplateSrv implements TemplateSrv {
  constructor(private readonly vars: Record<string, string> = {}) {}
  getVariables(): TypedVariableModel[] {
    return [];
  }
  containsTemplate(target?: string): boolean {
    return !!target && /\$\w+|\$\{\w+|\[\[\w+/.test(target);
  }
  updateTimeRange(): void {}
  replace(target?: string, scopedVars?: ScopedVars): string {
    if (!target) {
      return target ?? '';
    }
    return target.replace(/\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]/g, (match, a, b, c) => {
      const name = a ?? b ?? c;
      const scoped = scopedVars?.[name];
      if (scoped) {
        return String(scoped.value);
      }
      return name in this.vars ? this.vars[name] : match;
    });
  }
}

export function instanceSettings(
  jsonData: SheepdogOptions = {},
  overrides: Partial<DataSourceInstanceSettings<SheepdogOptions>> = {}
): DataSourceInstanceSettings<SheepdogOptions> {
  // No numeric id: DataSourceInstanceSettings.id is deprecated ("will be removed in G13") and Grafana identifies
  // data sources by uid (packages/grafana-data/src/types/datasource.ts, DataSourceInstanceSettings).
  return {
    uid: 'sheepdog',
    type: PLUGIN_ID,
    name: 'Sheepdog',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: PLUGIN_ID,
      name: 'Sheepdog',
      type: PluginType.datasource,
      module: 'public/plugins/sheepdog-anomaly-datasource/module.js',
      baseUrl: 'public/plugins/sheepdog-anomaly-datasource',
      info: {
        author: { name: 'Sheepdog' },
        description: '',
        links: [],
        logos: { small: '', large: '' },
        screenshots: [],
        updated: '',
        version: '',
      },
      backend: true,
      annotations: true,
      metrics: true,
    } as DataSourcePluginMeta,
    ...overrides,
  };
}

export function newDataSource(jsonData: SheepdogOptions = {}) {
  return new DataSource(instanceSettings(jsonData));
}

interface PromLikeQuery extends DataQuery {
  expr?: string;
}

/** A source data source with its own query editor and variable formatting, like Prometheus's. */
export function promLikeDataSource(uid = 'prom-main', name = 'Prometheus main'): DataSourceApi<PromLikeQuery> {
  const settings = {
    ...instanceSettings({}),
    uid,
    name,
    type: 'prometheus',
    meta: { ...instanceSettings({}).meta, id: 'prometheus', name: 'Prometheus' },
  } as unknown as DataSourceInstanceSettings;
  const ds = {
    uid,
    name,
    type: 'prometheus',
    meta: settings.meta,
    instanceSettings: settings,
    getDefaultQuery: () => ({ expr: 'up', range: true }),
    // Like Prometheus: one pass over the expression, with `$host` formatted as an escaped regex group and every
    // other variable replaced plainly; the marker shows it was used.
    applyTemplateVariables: (q: PromLikeQuery, scoped: ScopedVars) => ({
      ...q,
      expr: (q.expr ?? '').replace(/\$\{?(\w+)\}?/g, (match, name: string) =>
        name === 'host'
          ? `(${String(scoped.host?.value ?? 'any').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')})`
          : getTemplateSrv().replace(match, scoped)
      ),
      interpolatedBy: 'prometheus',
    }),
    components: {
      QueryEditor: ({ query, onChange }: { query: PromLikeQuery; onChange: (q: PromLikeQuery) => void }) => (
        <input
          aria-label="Nested expr"
          value={query.expr ?? ''}
          onChange={(e) => onChange({ ...query, expr: e.currentTarget.value })}
        />
      ),
    },
  };
  return ds as unknown as DataSourceApi<PromLikeQuery>;
}

export function fakeDataSourceSrv(sources: DataSourceApi[]): DataSourceSrv {
  const settings = sources.map(
    (ds) => (ds as unknown as { instanceSettings: DataSourceInstanceSettings }).instanceSettings ?? ds
  ) as DataSourceInstanceSettings[];
  const find = (ref: unknown) => {
    const uid = typeof ref === 'string' ? ref : (ref as { uid?: string } | undefined)?.uid;
    return sources.find((s) => s.uid === uid || s.name === uid);
  };
  return {
    get: async (ref?: unknown) => {
      const ds = find(ref);
      if (!ds) {
        throw new Error(`Data source ${JSON.stringify(ref)} was not found`);
      }
      return ds;
    },
    getList: (filters: { metrics?: boolean; filter?: (s: DataSourceInstanceSettings) => boolean } = {}) =>
      settings.filter((s) => (!filters.metrics || s.meta?.metrics) && (!filters.filter || filters.filter(s))),
    getInstanceSettings: (ref?: unknown) => {
      const ds = find(ref);
      return ds ? settings[sources.indexOf(ds)] : undefined;
    },
    reload: async () => {},
    registerRuntimeDataSource: () => {},
  } as unknown as DataSourceSrv;
}

/** Records every backend request; answers /api/ds/query with the given frames. */
export function recordingBackendSrv(responseFrames: unknown[] = []) {
  const requests: Array<{ url: string; data: unknown }> = [];
  const srv = {
    fetch: (opts: { url: string; data: unknown }): Observable<unknown> => {
      requests.push({ url: opts.url, data: opts.data });
      return of({
        data: { results: { A: { status: 200, frames: responseFrames } } },
        status: 200,
        ok: true,
        headers: new Headers(),
        redirected: false,
        statusText: 'OK',
        type: 'basic',
        url: opts.url,
        config: opts,
      });
    },
  } as unknown as BackendSrv;
  return { srv, requests };
}
