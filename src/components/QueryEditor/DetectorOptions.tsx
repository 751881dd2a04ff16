import { getTemplateSrv } from '@grafana/runtime';
import {
  Collapse,
  Combobox,
  ComboboxOption,
  InlineField,
  InlineFieldRow,
  Input,
  RadioButtonGroup,
  Stack,
  Text,
} from '@grafana/ui';
import React, { useMemo, useState } from 'react';

import { clampSensitivity, durationError, hasVariable } from '../../query';
import {
  DETECTOR_DEFAULTS,
  DetectorOptions as Detector,
  Direction,
  SEASONALITY_PRESETS,
  TemplateVariable,
} from '../../types';
import { OptionalTextField } from './fields';
import { DIRECTION_OPTIONS, LABEL_WIDTH, METHOD_OPTIONS, SEASONALITY_LABELS } from './options';

const isPreset = (s: string) => (SEASONALITY_PRESETS as readonly string[]).includes(s);
const SENSITIVITY_ERROR = 'A number from 0 to 100, or a dashboard variable such as $sensitivity';

const sensitivityToText = (s: Detector['sensitivity']) => (s === undefined ? '' : String(s));
const sensitivityTextError = (text: string) =>
  text.trim() !== '' && !hasVariable(text) && !Number.isFinite(Number(text)) ? SENSITIVITY_ERROR : undefined;
/** Whether the text in the box is what the stored sensitivity came from. */
function textMatches(text: string, stored: Detector['sensitivity']): boolean {
  const v = text.trim();
  if (stored === undefined) {
    return v === '' || !!sensitivityTextError(v);
  }
  if (typeof stored === 'string') {
    return v === stored;
  }
  return v !== '' && Number.isFinite(Number(v)) && clampSensitivity(Number(v)) === stored;
}

/** Dashboard variables offered next to the fixed choices: any detector option may be one (query.ts). */
function variableOptions(): Array<ComboboxOption<string>> {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => ({ label: `$${v.name}`, value: `$${v.name}`, description: 'Dashboard variable' }));
  } catch {
    return [];
  }
}

/** The one-line summary on the collapsed group, as Prometheus shows its query options. */
export function detectorSummary(detector: Detector): string {
  const method = detector.method ?? DETECTOR_DEFAULTS.method;
  const seasonality = detector.seasonality || DETECTOR_DEFAULTS.seasonality;
  const direction = detector.direction ?? DETECTOR_DEFAULTS.direction;
  const parts = [
    `Method: ${METHOD_OPTIONS.find((o) => o.value === method)?.label ?? method}`,
    `Sensitivity: ${detector.sensitivity ?? DETECTOR_DEFAULTS.sensitivity}`,
    `Direction: ${DIRECTION_OPTIONS.find((o) => o.value === direction)?.label ?? direction}`,
    `Seasonality: ${SEASONALITY_LABELS[seasonality] ?? seasonality}`,
  ];
  if (detector.minDuration) {
    parts.push(`Min duration: ${detector.minDuration}`);
  }
  if (detector.history) {
    parts.push(`History: ${detector.history}`);
  }
  return parts.join(' · ');
}

export function DetectorOptions(props: {
  detector: Detector;
  onDetector: (patch: Partial<Detector>) => void;
  onRunQuery: () => void;
}) {
  const { detector, onDetector, onRunQuery } = props;
  const method = detector.method ?? DETECTOR_DEFAULTS.method;
  const seasonality = detector.seasonality || DETECTOR_DEFAULTS.seasonality;
  const variables = useMemo(() => variableOptions(), []);

  // Sensitivity is typed as text so a variable fits; a number is clamped to 0..100 as it is stored.
  const stored = detector.sensitivity;
  const [sensitivityText, setSensitivityText] = useState(sensitivityToText(stored));
  // Follow changes from outside (a loaded example, undo) but not the echo of what was just typed; adjusted while
  // rendering, as React recommends for state derived from a prop.
  const [seen, setSeen] = useState(stored);
  if (seen !== stored) {
    setSeen(stored);
    if (!textMatches(sensitivityText, stored)) {
      setSensitivityText(sensitivityToText(stored));
    }
  }
  const sensitivityError = sensitivityTextError(sensitivityText);
  const onSensitivity = (text: string) => {
    setSensitivityText(text);
    const v = text.trim();
    if (v === '') {
      onDetector({ sensitivity: undefined });
    } else if (hasVariable(v)) {
      onDetector({ sensitivity: v as TemplateVariable });
    } else if (Number.isFinite(Number(v))) {
      onDetector({ sensitivity: clampSensitivity(Number(v)) });
    }
  };
  const methodError =
    METHOD_OPTIONS.some((o) => o.value === method) || hasVariable(method)
      ? undefined
      : `Unknown method "${method}": pick one of the list or a dashboard variable`;

  const methodOptions = useMemo(() => {
    const opts: Array<ComboboxOption<string>> = [...METHOD_OPTIONS, ...variables];
    if (!opts.some((o) => o.value === method)) {
      opts.push({ label: method, value: method });
    }
    return opts;
  }, [method, variables]);
  const seasonalityOptions = useMemo(() => {
    const opts: Array<ComboboxOption<string>> = [
      ...SEASONALITY_PRESETS.map((v) => ({ label: SEASONALITY_LABELS[v], value: v as string })),
      ...variables,
    ];
    if (!opts.some((o) => o.value === seasonality)) {
      opts.push({ label: seasonality, value: seasonality });
    }
    return opts;
  }, [seasonality, variables]);
  const seasonalityError = isPreset(seasonality) ? undefined : durationError(seasonality);
  const minDurationError = durationError(detector.minDuration, { allowZero: true });
  const historyError = detector.history === 'auto' ? undefined : durationError(detector.history, { allowZero: true });
  const hasError = !!(methodError || sensitivityError || seasonalityError || minDurationError || historyError);

  // Collapsed by default, like Prometheus's Options row; open while an option needs fixing so no error hides.
  const [open, setOpen] = useState(hasError);
  const direction = detector.direction ?? DETECTOR_DEFAULTS.direction;
  const directionVariable = hasVariable(direction) ? direction : undefined;

  return (
    <Collapse
      isOpen={open || hasError}
      onToggle={() => setOpen(!open)}
      label={
        <Stack gap={1} alignItems="baseline" wrap="wrap">
          <Text>Detector options</Text>
          <Text variant="bodySmall" color="secondary" data-testid="sheepdog-detector-summary">
            {detectorSummary(detector)}
          </Text>
        </Stack>
      }
    >
      <InlineFieldRow>
        <InlineField
          label="Method"
          labelWidth={LABEL_WIDTH}
          tooltip="How the expected value and band are computed"
          invalid={!!methodError}
          error={methodError}
        >
          <Combobox<string>
            aria-label="Detection method"
            width={36}
            options={methodOptions}
            value={method}
            createCustomValue
            customValueDescription="Dashboard variable"
            onChange={(o) => {
              onDetector({ method: o.value as Detector['method'] });
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField
          label="Sensitivity"
          tooltip={`0..100, default ${DETECTOR_DEFAULTS.sensitivity}. Higher narrows the band and flags more points. A dashboard variable works too.`}
          invalid={!!sensitivityError}
          error={sensitivityError}
        >
          <Input
            aria-label="Sensitivity"
            inputMode="numeric"
            width={14}
            value={sensitivityText}
            placeholder={String(DETECTOR_DEFAULTS.sensitivity)}
            onChange={(e) => onSensitivity(e.currentTarget.value)}
            onBlur={() => {
              // Show what is stored (150 becomes 100); a text that is no number stays, with its error.
              if (!sensitivityError) {
                setSensitivityText(sensitivityToText(stored));
              }
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField
          label="Direction"
          tooltip={`Which side of the band counts as anomalous${directionVariable ? `; now set by ${directionVariable}` : ''}`}
        >
          <RadioButtonGroup<Direction>
            aria-label="Direction"
            options={DIRECTION_OPTIONS}
            value={directionVariable ? undefined : (direction as Direction)}
            onChange={(d) => {
              onDetector({ direction: d });
              onRunQuery();
            }}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Seasonality"
          labelWidth={LABEL_WIDTH}
          tooltip="The repeating cycle of the metric. Type a duration such as 6h for a custom period."
          invalid={!!seasonalityError}
          error={seasonalityError}
        >
          <Combobox<string>
            aria-label="Seasonality"
            width={24}
            options={seasonalityOptions}
            value={seasonality}
            createCustomValue
            customValueDescription="Custom period"
            onChange={(o) => {
              onDetector({ seasonality: o.value });
              onRunQuery();
            }}
          />
        </InlineField>
        <OptionalTextField
          label="Min duration"
          tooltip="Shortest anomaly reported, e.g. 5m. Default: a single point."
          aria-label="Min duration"
          width={12}
          value={detector.minDuration}
          placeholder="1 point"
          error={minDurationError}
          onChange={(minDuration) => onDetector({ minDuration })}
          onBlur={onRunQuery}
        />
        <OptionalTextField
          label="History"
          tooltip="Data fetched before the time range so the band is ready at its left edge: auto, 0 (none) or e.g. 3d"
          aria-label="History"
          width={12}
          value={detector.history}
          placeholder="auto"
          error={historyError}
          onChange={(history) => onDetector({ history })}
          onBlur={onRunQuery}
        />
      </InlineFieldRow>
    </Collapse>
  );
}
