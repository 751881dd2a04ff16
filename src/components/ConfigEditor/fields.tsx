import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Field, Input, SecretInput, SecretTextArea, Stack, Switch, useStyles2 } from '@grafana/ui';
import React, { ReactNode, useState } from 'react';

import { durationError, integerError } from '../../query';
import { SecureKey, SETTINGS_DEFAULTS, SheepdogOptions } from '../../types';
import { useEditor } from './editorContext';

type StringKey = {
  [K in keyof SheepdogOptions]-?: SheepdogOptions[K] extends string | undefined ? K : never;
}[keyof SheepdogOptions] &
  string;
export type NumberKey = {
  [K in keyof SheepdogOptions]-?: SheepdogOptions[K] extends number | undefined ? K : never;
}[keyof SheepdogOptions] &
  string;
export type BoolKey = 'remoteFallback' | 'remoteTlsSkipVerify' | 'prometheusTlsSkipVerify';

/**
 * Fields that share a row (durations, numbers) have a fixed width, and their description and error wrap inside
 * it: a message can neither widen its field and reflow the row (the old "Backoff base drops a row") nor run past
 * a narrow window. Field's validationMessageHorizontalOverflow (packages/grafana-ui/src/components/Forms/
 * Field.tsx, getFieldStyles) keeps the width too, but its nowrap message ran 167 px past a 600 px window.
 */
const getStyles = (theme: GrafanaTheme2) => ({
  compact: css({ width: theme.spacing(24) }),
});

/** A row of compact fields (durations, numbers) that wraps in a narrow window. */
export function FieldRow({ children }: { children: ReactNode }) {
  return (
    <Stack direction="row" wrap="wrap" gap={2}>
      {children}
    </Stack>
  );
}

/** A collapsed section's header: "Changed: retries 4 · fallback off", or nothing when every setting is default. */
export function changedSummary(parts: string[]): string | undefined {
  return parts.length ? `Changed: ${parts.join(' · ')}` : undefined;
}

/** A text setting validated when left (see useEditorState). */
export function TextField(props: {
  settingKey: StringKey;
  label: string;
  description?: ReactNode;
  placeholder?: string;
  width: number;
  validate: (v: string) => string | undefined;
  /** Shown once the field was left empty, e.g. "The remote engine needs the API URL". */
  requiredError?: string;
  /** A rule involving other fields (shown, like validate's, only when this field is not being edited). */
  extraError?: string;
  /** One of a row of fields: fixed width. */
  compact?: boolean;
}) {
  const { settingKey, label, description, placeholder, width, validate, requiredError, extraError, compact } = props;
  const { jsonData, setJson, settled, touched, leave, readOnly } = useEditor();
  const styles = useStyles2(getStyles);
  const value = (jsonData[settingKey] as string | undefined) ?? '';
  let err: string | undefined;
  if (settled(settingKey)) {
    err = validate(value) ?? extraError;
    if (!err && requiredError && value.trim() === '' && touched(settingKey)) {
      err = requiredError;
    }
  }
  const id = `sheepdog-${settingKey}`;
  return (
    <Field
      label={label}
      description={description}
      required={Boolean(requiredError)}
      invalid={!!err}
      error={err}
      htmlFor={id}
      disabled={readOnly}
      className={compact ? styles.compact : undefined}
    >
      <Input
        id={id}
        width={width}
        value={value}
        placeholder={placeholder}
        spellCheck={false}
        onChange={(e) => setJson(settingKey, e.currentTarget.value)}
        onBlur={(e) => leave(settingKey, e.currentTarget.value)}
      />
    </Field>
  );
}

export function DurationField(props: {
  settingKey: StringKey;
  label: string;
  description: string;
  placeholder: string;
  extraError?: string;
}) {
  return <TextField {...props} width={20} compact validate={(v) => durationError(v)} />;
}

export function NumberField(props: {
  settingKey: NumberKey;
  label: string;
  description: string;
  min: number;
  /** A rule involving other fields, shown like the field's own error. */
  extraError?: string;
}) {
  const { settingKey, label, description, min, extraError } = props;
  const { jsonData, setJson, readOnly } = useEditor();
  const styles = useStyles2(getStyles);
  const stored = jsonData[settingKey];
  // Keep what is typed so an invalid entry can be shown and fixed; only valid whole numbers reach jsonData.
  const [text, setText] = useState(stored === undefined ? '' : String(stored));
  const [leftText, setLeftText] = useState(text);
  const err = text === leftText ? (integerError(text, min) ?? extraError) : undefined;
  const id = `sheepdog-${settingKey}`;
  return (
    <Field
      label={label}
      description={description}
      invalid={!!err}
      error={err}
      htmlFor={id}
      disabled={readOnly}
      className={styles.compact}
    >
      <Input
        id={id}
        width={20}
        type="number"
        min={min}
        step={1}
        value={text}
        placeholder={String(SETTINGS_DEFAULTS[settingKey])}
        onBlur={(e) => setLeftText(e.currentTarget.value)}
        onChange={(e) => {
          const v = e.currentTarget.value;
          setText(v);
          if (v.trim() === '') {
            setJson(settingKey, undefined);
          } else if (!integerError(v, min)) {
            setJson(settingKey, Number(v));
          }
        }}
      />
    </Field>
  );
}

export function BoolField(props: { settingKey: BoolKey; label: string; description: string; defaultValue: boolean }) {
  const { settingKey, label, description, defaultValue } = props;
  const { jsonData, setJson, readOnly } = useEditor();
  const id = `sheepdog-${settingKey}`;
  return (
    <Field label={label} description={description} htmlFor={id} disabled={readOnly}>
      <Switch
        id={id}
        value={jsonData[settingKey] ?? defaultValue}
        onChange={(e) => setJson(settingKey, e.currentTarget.checked)}
      />
    </Field>
  );
}

/**
 * A secret input. Read-only, it is a disabled input only: SecretInput's and SecretTextArea's Reset buttons take
 * no disabled prop (packages/grafana-ui/src/components/SecretInput/SecretInput.tsx), and a provisioned secret
 * must not look resettable.
 */
export function SecretField(props: {
  secretKey: SecureKey;
  label: string;
  description?: string;
  width?: number;
  placeholder?: string;
  multiline?: boolean;
  'aria-label'?: string;
}) {
  const { secretKey, label, description, width = 60, placeholder, multiline } = props;
  const { secret, readOnly } = useEditor();
  const s = secret(secretKey);
  return (
    <Field label={label} description={description} htmlFor={s.id} disabled={readOnly}>
      {readOnly ? (
        <Input id={s.id} width={width} disabled value={s.isConfigured ? 'configured' : ''} placeholder="not set" />
      ) : multiline ? (
        <SecretTextArea {...s} rows={5} cols={60} placeholder={placeholder} />
      ) : (
        <SecretInput {...s} width={width} placeholder={placeholder} />
      )}
    </Field>
  );
}
