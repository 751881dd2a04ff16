import { InlineField, InlineFieldRow, InlineSwitch, RadioButtonGroup } from '@grafana/ui';
import React from 'react';

import { durationError } from '../../query';
import { ALERT_DEFAULTS, AlertMode, AlertOptions } from '../../types';
import { OptionalTextField } from './fields';
import { ALERT_MODE_OPTIONS, LABEL_WIDTH } from './options';

/** Alert options. In an alert rule the switch is hidden: rules always get alert frames. */
export function AlertFields(props: {
  alert: AlertOptions;
  inAlertRule: boolean;
  onAlert: (p: Partial<AlertOptions>) => void;
  onRunQuery: () => void;
}) {
  const { alert, inAlertRule, onAlert, onRunQuery } = props;
  const mode = alert.mode ?? ALERT_DEFAULTS.mode;
  const windowError = durationError(alert.window);
  return (
    <InlineFieldRow>
      {!inAlertRule && (
        <InlineField
          label="Alert frames"
          labelWidth={LABEL_WIDTH}
          tooltip="Alert rules always get alert frames; switch on to see them in panels too"
        >
          <InlineSwitch
            aria-label="Alert frames"
            value={!!alert.enabled}
            onChange={(e) => {
              onAlert({ enabled: e.currentTarget.checked || undefined });
              onRunQuery();
            }}
          />
        </InlineField>
      )}
      <InlineField
        label="Alert on"
        labelWidth={inAlertRule ? LABEL_WIDTH : undefined}
        tooltip="The number alert rules compare with a threshold"
      >
        <RadioButtonGroup<AlertMode>
          aria-label="Alert mode"
          options={ALERT_MODE_OPTIONS}
          value={mode as AlertMode}
          onChange={(m) => {
            onAlert({ mode: m });
            onRunQuery();
          }}
        />
      </InlineField>
      {mode !== 'latest_score' && (
        <OptionalTextField
          label="Window"
          tooltip="Trigger window for the anomaly fraction"
          aria-label="Alert window"
          width={10}
          value={alert.window}
          placeholder={ALERT_DEFAULTS.window}
          error={windowError}
          onChange={(window) => onAlert({ window })}
          onBlur={onRunQuery}
        />
      )}
    </InlineFieldRow>
  );
}
