import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Button, Field, FieldValidationMessage, IconButton, Input, Label, SecretInput, useStyles2 } from '@grafana/ui';
import React from 'react';

import { headerNameKey, headerValueKey, SheepdogOptions, SheepdogSecureJsonData } from '../../types';
import { useEditor } from './editorContext';

const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Numbers N of the prometheusHeaderNameN keys in jsonData, ascending. */
function headerNumbers(jsonData: SheepdogOptions): number[] {
  return Object.keys(jsonData)
    .map((k) => /^prometheusHeaderName([1-9]\d*)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function headerNameError(name: string, earlierNames: string[]): string | undefined {
  const n = name.trim();
  if (n === '') {
    return undefined;
  }
  if (!HEADER_NAME_RE.test(n)) {
    return 'Not a valid header name: letters, digits and - _ . only, no spaces or colons';
  }
  if (n.toLowerCase() === 'authorization') {
    return 'Set credentials with Authentication above, not as a custom header';
  }
  if (earlierNames.some((e) => e.trim().toLowerCase() === n.toLowerCase())) {
    return 'This header is already set above';
  }
  return undefined;
}

/**
 * Custom headers for the Prometheus URL, Grafana's way: the name in jsonData prometheusHeaderNameN, the value in
 * secureJsonData prometheusHeaderValueN. Rows keep their N when others are removed: a stored value cannot be read
 * back, so it cannot be moved to another number. A grid with Header/Value column labels keeps the columns
 * aligned; a name's error takes a row of its own under its row instead of widening the name column.
 */
export function PrometheusHeaders() {
  const { options, onOptionsChange, jsonData, readOnly, settled, leave } = useEditor();
  const styles = useStyles2(getStyles);
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData: SheepdogSecureJsonData = options.secureJsonData ?? {};
  const numbers = headerNumbers(jsonData);
  const update = (
    json: SheepdogOptions,
    fields: Record<string, boolean> = secureJsonFields,
    secure: SheepdogSecureJsonData = secureJsonData
  ) => onOptionsChange({ ...options, jsonData: json, secureJsonFields: fields, secureJsonData: secure });
  const resetValue = (n: number) => ({
    fields: { ...secureJsonFields, [headerValueKey(n)]: false },
    secure: { ...secureJsonData, [headerValueKey(n)]: '' },
  });

  const add = () => {
    const n = (numbers[numbers.length - 1] ?? 0) + 1;
    update({ ...jsonData, [headerNameKey(n)]: '' });
  };
  const remove = (n: number) => {
    const next = { ...jsonData };
    delete next[headerNameKey(n)];
    const { fields, secure } = resetValue(n);
    update(next, fields, secure);
  };

  return (
    <Field
      label="Custom HTTP headers"
      description="Sent with every request to the Prometheus URL, e.g. X-Scope-OrgID for a Mimir or Cortex tenant. Values are stored encrypted."
    >
      <div>
        {numbers.length > 0 && (
          <div className={styles.grid} role="group" aria-label="Custom HTTP headers">
            <Label className={styles.columnLabel}>Header</Label>
            <Label className={styles.columnLabel}>Value</Label>
            <span />
            {numbers.map((n, i) => {
              const key = headerNameKey(n);
              const name = jsonData[key] ?? '';
              const earlier = numbers.slice(0, i).map((m) => jsonData[headerNameKey(m)] ?? '');
              const err = settled(key) ? headerNameError(name, earlier) : undefined;
              const valueKey = headerValueKey(n);
              return (
                <React.Fragment key={n}>
                  <Input
                    aria-label={`Header ${n} name`}
                    width={30}
                    value={name}
                    placeholder="X-Scope-OrgID"
                    invalid={!!err}
                    disabled={readOnly}
                    onChange={(e) => update({ ...jsonData, [key]: e.currentTarget.value })}
                    onBlur={(e) => leave(key, e.currentTarget.value)}
                  />
                  {readOnly ? (
                    <Input
                      aria-label={`Header ${n} value`}
                      width={30}
                      disabled
                      value={secureJsonFields[valueKey] ? 'configured' : ''}
                    />
                  ) : (
                    <SecretInput
                      aria-label={`Header ${n} value`}
                      width={30}
                      placeholder="Value"
                      isConfigured={Boolean(secureJsonFields[valueKey])}
                      value={secureJsonData[valueKey] ?? ''}
                      onReset={() => {
                        const { fields, secure } = resetValue(n);
                        update(jsonData, fields, secure);
                      }}
                      onChange={(e) =>
                        update(jsonData, secureJsonFields, { ...secureJsonData, [valueKey]: e.currentTarget.value })
                      }
                    />
                  )}
                  <IconButton
                    name="trash-alt"
                    tooltip={`Remove header ${n}`}
                    disabled={readOnly}
                    onClick={() => remove(n)}
                  />
                  {err && (
                    <div className={styles.rowError}>
                      <FieldValidationMessage>{err}</FieldValidationMessage>
                    </div>
                  )}
                </React.Fragment>
              );
            })}
          </div>
        )}
        <Button variant="secondary" size="sm" icon="plus" onClick={add} disabled={readOnly}>
          Add header
        </Button>
      </div>
    </Field>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  grid: css({
    display: 'grid',
    gridTemplateColumns: 'max-content max-content max-content',
    columnGap: theme.spacing(1),
    rowGap: theme.spacing(1),
    alignItems: 'start',
    marginBottom: theme.spacing(1),
  }),
  columnLabel: css({ marginBottom: 0 }),
  rowError: css({ gridColumn: '1 / -1', marginTop: theme.spacing(-0.5) }),
});
