import React from 'react';

import { parseDuration } from '../../duration';
import { RESILIENCE_KEYS, SETTINGS_DEFAULTS, SheepdogOptions } from '../../types';
import { ConfigSection } from '../ConfigSection';
import { useEditor } from './editorContext';
import { BoolField, changedSummary, DurationField, FieldRow, NumberField } from './fields';

/** "Retries 4 · fallback off": the settings that differ from their defaults, for the closed section's header. */
export function resilienceSummary(j: SheepdogOptions): string | undefined {
  const names: Record<(typeof RESILIENCE_KEYS)[number], string> = {
    remoteTimeout: 'timeout',
    remoteRetries: 'retries',
    remoteBackoffBase: 'backoff base',
    remoteBackoffMax: 'backoff cap',
    remoteBreakerThreshold: 'breaker threshold',
    remoteBreakerCooldown: 'breaker cooldown',
    remoteMaxInFlight: 'in-flight cap',
    remoteMaxCallsPerQuery: 'calls per query',
    remoteFallback: 'fallback',
  };
  const parts = RESILIENCE_KEYS.filter((k) => j[k] !== undefined && j[k] !== SETTINGS_DEFAULTS[k]).map((k) =>
    typeof j[k] === 'boolean' ? `${names[k]} ${j[k] ? 'on' : 'off'}` : `${names[k]} ${j[k]}`
  );
  return changedSummary(parts);
}

/** The backend refuses a cap below the base delay (pkg/models/config.go), so the cap field says it. */
export function backoffOrderError(j: SheepdogOptions): string | undefined {
  const base = parseDuration(j.remoteBackoffBase || SETTINGS_DEFAULTS.remoteBackoffBase).ms;
  const max = parseDuration(j.remoteBackoffMax || SETTINGS_DEFAULTS.remoteBackoffMax).ms;
  return base !== undefined && max !== undefined && max < base
    ? `Shorter than the backoff base (${j.remoteBackoffBase || SETTINGS_DEFAULTS.remoteBackoffBase})`
    : undefined;
}

export function ResilienceSection() {
  const { jsonData, settled } = useEditor();
  const summary = resilienceSummary(jsonData);
  // Shown only once both durations are settled, so typing "1" on the way to "10s" in either does not flash it.
  const orderError =
    settled('remoteBackoffBase') && settled('remoteBackoffMax') ? backoffOrderError(jsonData) : undefined;
  return (
    <ConfigSection
      kind="subsection"
      title="Resilience"
      description="How the plugin retries, backs off and stops calling an API that is failing. Empty fields use the default shown."
      isCollapsible
      isInitiallyOpen={summary !== undefined}
      summary={summary}
    >
      <FieldRow>
        <DurationField
          settingKey="remoteTimeout"
          label="Timeout"
          description="Per attempt"
          placeholder={SETTINGS_DEFAULTS.remoteTimeout}
        />
        <NumberField settingKey="remoteRetries" label="Retries" description="Extra attempts after a failure" min={0} />
        <DurationField
          settingKey="remoteBackoffBase"
          label="Backoff base"
          description="First retry delay"
          placeholder={SETTINGS_DEFAULTS.remoteBackoffBase}
        />
        <DurationField
          settingKey="remoteBackoffMax"
          label="Backoff cap"
          description="Longest retry delay"
          placeholder={SETTINGS_DEFAULTS.remoteBackoffMax}
          extraError={orderError}
        />
      </FieldRow>
      <FieldRow>
        <NumberField
          settingKey="remoteBreakerThreshold"
          label="Breaker threshold"
          description="Consecutive failures that open the circuit"
          min={1}
        />
        <DurationField
          settingKey="remoteBreakerCooldown"
          label="Breaker cooldown"
          description="Pause before trying again"
          placeholder={SETTINGS_DEFAULTS.remoteBreakerCooldown}
        />
        <NumberField
          settingKey="remoteMaxInFlight"
          label="In-flight cap"
          description="Concurrent requests to the API"
          min={1}
        />
        <NumberField
          settingKey="remoteMaxCallsPerQuery"
          label="Calls per query"
          description="API requests one query may make"
          min={1}
        />
      </FieldRow>
      <BoolField
        settingKey="remoteFallback"
        label="Fall back to the embedded engine"
        description="When the API fails or the circuit is open, detect locally and mark the result"
        defaultValue={SETTINGS_DEFAULTS.remoteFallback}
      />
    </ConfigSection>
  );
}
