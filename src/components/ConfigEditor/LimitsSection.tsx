import React from 'react';

import { SETTINGS_DEFAULTS, SheepdogOptions } from '../../types';
import { ConfigSection } from '../ConfigSection';
import { useEditor } from './editorContext';
import { changedSummary, FieldRow, NumberField } from './fields';

const LIMIT_NAMES = {
  maxSeriesPerQuery: 'series per query',
  maxPointsPerQuery: 'points per query',
  maxPointsPerRequest: 'points per request',
  alertCacheMaxMiB: 'alert cache MiB',
} as const;
type LimitKey = keyof typeof LIMIT_NAMES;

export function limitsSummary(j: SheepdogOptions): string | undefined {
  const parts = (Object.keys(LIMIT_NAMES) as LimitKey[])
    .filter((k) => j[k] !== undefined && j[k] !== SETTINGS_DEFAULTS[k])
    .map((k) => `${LIMIT_NAMES[k]} ${j[k]}`);
  return changedSummary(parts);
}

/** The backend refuses a per-query budget above the per-request one (pkg/models/config.go, Budgets). */
export function pointsOrderError(j: SheepdogOptions): string | undefined {
  const perQuery = j.maxPointsPerQuery ?? SETTINGS_DEFAULTS.maxPointsPerQuery;
  const perRequest = j.maxPointsPerRequest ?? SETTINGS_DEFAULTS.maxPointsPerRequest;
  return perQuery > perRequest
    ? `Below the points per query (${perQuery}): a request holds one or more queries`
    : undefined;
}

/**
 * What one query may cost. Anyone who can run a query (every dashboard viewer) picks its range, step and source,
 * so the admin bounds it here; a refused query names the setting to raise.
 */
export function LimitsSection() {
  const { jsonData } = useEditor();
  const summary = limitsSummary(jsonData);
  return (
    <ConfigSection
      title="Limits"
      description="What one query may cost. Viewers choose the range and the step, so these bound memory and time; a refused query names the setting to raise. Empty fields use the default shown."
      isCollapsible
      isInitiallyOpen={summary !== undefined}
      summary={summary}
    >
      <FieldRow>
        <NumberField
          settingKey="maxSeriesPerQuery"
          label="Series per query"
          description="Series one query may analyse"
          min={1}
        />
        <NumberField
          settingKey="maxPointsPerQuery"
          label="Points per query"
          description="Series × points fetched, history included"
          min={1}
        />
        <NumberField
          settingKey="maxPointsPerRequest"
          label="Points per request"
          description="Sum over the queries of one panel"
          min={1}
          extraError={pointsOrderError(jsonData)}
        />
        <NumberField
          settingKey="alertCacheMaxMiB"
          label="Alert cache (MiB)"
          description="State kept between alert evaluations"
          min={1}
        />
      </FieldRow>
    </ConfigSection>
  );
}
