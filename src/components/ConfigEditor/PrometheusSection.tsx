import { Field, RadioButtonGroup, Stack } from '@grafana/ui';
import React from 'react';

import { urlError } from '../../query';
import { PrometheusAuth, SETTINGS_DEFAULTS } from '../../types';
import { ConfigSection } from '../ConfigSection';
import { useEditor } from './editorContext';
import { SecretField, TextField } from './fields';
import { PrometheusHeaders } from './PrometheusHeaders';
import { TlsFields } from './TlsFields';

const PROM_AUTH_OPTIONS: Array<{ label: string; value: PrometheusAuth }> = [
  { label: 'No auth', value: 'none' },
  { label: 'Basic auth', value: 'basic' },
  { label: 'Bearer token', value: 'bearer' },
];

export function PrometheusSection() {
  const { jsonData, setJson, readOnly } = useEditor();
  const promAuth = jsonData.prometheusAuth ?? SETTINGS_DEFAULTS.prometheusAuth;
  // Auth, TLS and headers belong to the URL: without one they would configure nothing.
  const hasUrl = Boolean(jsonData.prometheusUrl?.trim());
  return (
    <ConfigSection
      kind="subsection"
      title="Prometheus-compatible URL"
      description="Optional: lets queries use PromQL directly against this URL, without a Grafana data source."
    >
      <TextField
        settingKey="prometheusUrl"
        label="URL"
        description="e.g. http://prometheus:9090 (Prometheus, Mimir, Thanos, VictoriaMetrics)"
        placeholder="http://prometheus:9090"
        width={60}
        validate={urlError}
      />
      {hasUrl && (
        <>
          <Field label="Authentication" htmlFor="sheepdog-prometheusAuth" disabled={readOnly}>
            <RadioButtonGroup<PrometheusAuth>
              id="sheepdog-prometheusAuth"
              options={PROM_AUTH_OPTIONS}
              value={promAuth}
              onChange={(v) => setJson('prometheusAuth', v === SETTINGS_DEFAULTS.prometheusAuth ? undefined : v)}
            />
          </Field>
          {promAuth === 'basic' && (
            <Stack direction="row" gap={2}>
              <TextField
                settingKey="prometheusUser"
                label="User"
                width={30}
                validate={() => undefined}
                requiredError="Basic auth needs a user name"
              />
              <SecretField secretKey="prometheusPassword" label="Password" width={30} />
            </Stack>
          )}
          {promAuth === 'bearer' && <SecretField secretKey="prometheusToken" label="Bearer token" />}
          <TlsFields
            skipKey="prometheusTlsSkipVerify"
            caKey="prometheusTlsCaCert"
            caLabel="TLS CA certificate"
            caDescription="PEM of the CA that signed the Prometheus certificate, if it is private. Stored encrypted."
          />
          <PrometheusHeaders />
        </>
      )}
    </ConfigSection>
  );
}
