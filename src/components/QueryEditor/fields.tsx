import { InlineField, Input } from '@grafana/ui';
import React from 'react';

/**
 * An optional text option (a duration such as the alert window or the min duration): empty stores undefined, so
 * the default shown as placeholder applies; leaving the field runs the query.
 */
export function OptionalTextField(props: {
  label: string;
  tooltip: string;
  'aria-label': string;
  width: number;
  value: string | undefined;
  placeholder: string;
  error: string | undefined;
  onChange: (v: string | undefined) => void;
  onBlur: () => void;
}) {
  const { label, tooltip, width, value, placeholder, error, onChange, onBlur } = props;
  return (
    <InlineField label={label} tooltip={tooltip} invalid={!!error} error={error}>
      <Input
        aria-label={props['aria-label']}
        width={width}
        value={value ?? ''}
        placeholder={placeholder}
        onChange={(e) => onChange(e.currentTarget.value || undefined)}
        onBlur={onBlur}
      />
    </InlineField>
  );
}
