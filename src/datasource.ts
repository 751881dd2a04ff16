import {
  AdHocVariableFilter,
  AnnotationQuery,
  CoreApp,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourceInstanceSettings,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getDataSourceSrv, getTemplateSrv } from '@grafana/runtime';
import { from, mergeMap, Observable, of } from 'rxjs';

import { framesToEvents } from './annotations';
import { AnnotationEditor } from './components/AnnotationEditor';
import {
  defaultQuery,
  interpolateDeep,
  interpolateOwnFields,
  isRunnable,
  legacyAnnotationQuery,
  migrateQuery,
  needsMigration,
} from './query';
import { NestedQuery, SheepdogOptions, SheepdogQuery } from './types';

/** The optional hook most data sources implement to format their own queries. */
interface WithTemplateVariables {
  applyTemplateVariables?: (q: NestedQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]) => NestedQuery;
}

export class DataSource extends DataSourceWithBackend<SheepdogQuery, SheepdogOptions> {
  /** Source data sources loaded so far, by uid: their own applyTemplateVariables formats nested queries. */
  private readonly nestedSources = new Map<string, DataSourceApi>();

  /** The data source's jsonData (settings), read by the editors. */
  readonly settings: SheepdogOptions;

  constructor(instanceSettings: DataSourceInstanceSettings<SheepdogOptions>) {
    super(instanceSettings);
    this.settings = instanceSettings.jsonData ?? {};
    this.annotations = {
      QueryEditor: AnnotationEditor,
      // Grafana's annotation editor (public/app/features/annotations/components/StandardAnnotationQueryEditor.tsx,
      // verifyDataSource) calls onChange whenever prepareAnnotation(x) !== x and re-renders with the result, so an
      // annotation in the current shape must come back as the same object, or the editor never settles.
      prepareAnnotation: (json: AnnotationQuery<SheepdogQuery>) => {
        const { target, ...anno } = json;
        if (target) {
          if (target.refId && !needsMigration(target)) {
            return json;
          }
          return {
            ...anno,
            target: migrateQuery({ refId: 'Anno', ...(target as object) }),
          } as AnnotationQuery<SheepdogQuery>;
        }
        // Older annotations stored the query next to the annotation's own fields: move only the query fields.
        const { query, rest } = legacyAnnotationQuery(anno as unknown as Record<string, unknown>);
        if (Object.keys(query).length === 0) {
          // A new annotation: nothing to migrate, the editor starts it from getDefaultQuery.
          return json;
        }
        return { ...rest, target: migrateQuery({ refId: 'Anno', ...query }) } as AnnotationQuery<SheepdogQuery>;
      },
      prepareQuery: (anno: AnnotationQuery<SheepdogQuery>) => {
        if (!anno.target) {
          return undefined;
        }
        // Annotations ask for windows only, and never for alert frames (the backend would answer in alert mode).
        const { alert: _alert, ...migrated } = migrateQuery(anno.target);
        const q: SheepdogQuery = { ...migrated, outputs: ['windows'] };
        return isRunnable(q) ? q : undefined;
      },
      processEvents: (_anno, frames) => of(framesToEvents(frames)),
      getDefaultQuery: () => {
        const { outputs: _outputs, ...rest } = defaultQuery(this.settings);
        return rest;
      },
    };
  }

  getDefaultQuery(_app: CoreApp): Partial<SheepdogQuery> {
    return defaultQuery(this.settings);
  }

  filterQuery(query: SheepdogQuery): boolean {
    return isRunnable(needsMigration(query) ? migrateQuery(query) : query);
  }

  /** Loads the source data sources of the request first, so their own variable formatting can be applied. */
  query(request: DataQueryRequest<SheepdogQuery>): Observable<DataQueryResponse> {
    // Grafana's query runners filter too; Explore and direct callers may not.
    const targets = request.targets.filter((t) => this.filterQuery(t));
    if (targets.length === 0) {
      return of({ data: [] });
    }
    if (targets.length !== request.targets.length) {
      request = { ...request, targets };
    }
    const replace = (s: string) => getTemplateSrv().replace(s, request.scopedVars);
    const uids = new Set<string>();
    for (const t of request.targets) {
      const uid = t.source?.type === 'datasource' ? t.source.datasource?.uid : undefined;
      if (uid) {
        const resolved = replace(uid);
        if (!this.nestedSources.has(resolved)) {
          uids.add(resolved);
        }
      }
    }
    if (uids.size === 0) {
      return super.query(request);
    }
    return from(Promise.all(Array.from(uids, (uid) => this.loadNestedSource(uid)))).pipe(
      mergeMap(() => super.query(request))
    );
  }

  private async loadNestedSource(uid: string): Promise<void> {
    try {
      this.nestedSources.set(uid, await getDataSourceSrv().get({ uid }));
    } catch {
      // Unknown or forbidden data source: the backend reports it per query; interpolate generically meanwhile.
    }
  }

  applyTemplateVariables(query: SheepdogQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): SheepdogQuery {
    const replace = (s: string) => getTemplateSrv().replace(s, scopedVars);
    const q = interpolateOwnFields(needsMigration(query) ? migrateQuery(query) : query, replace);
    const src = q.source;
    if (src.type !== 'datasource' || !src.query) {
      return q;
    }
    let nested: NestedQuery = { ...src.query, refId: src.query.refId ?? q.refId };
    if (src.datasource) {
      nested.datasource = { ...src.datasource };
    }
    const owner = (src.datasource ? this.nestedSources.get(src.datasource.uid) : undefined) as
      WithTemplateVariables | undefined;
    let formatted = false;
    if (typeof owner?.applyTemplateVariables === 'function') {
      try {
        nested = owner.applyTemplateVariables(nested, scopedVars, filters);
        formatted = true;
      } catch {
        // Fall back to plain interpolation below.
      }
    }
    // The source data source's own formatting is final: interpolating its output again would re-read a `$` it
    // produced (an escaped regex, a value containing `$`) as a variable. Without it (not loaded, no hook, or it
    // failed), every string of the nested query is interpolated here, since the backend forwards it as is.
    if (!formatted) {
      nested = interpolateDeep(nested, replace);
    }
    return { ...q, source: { ...src, query: nested } };
  }
}
