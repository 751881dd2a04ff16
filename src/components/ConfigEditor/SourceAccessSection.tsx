import { Field, RadioButtonGroup } from '@grafana/ui';
import React from 'react';

import { SETTINGS_DEFAULTS, SourceAccess } from '../../types';
import { ConfigSection } from '../ConfigSection';
import { AllowList } from './AllowList';
import { useEditor } from './editorContext';
import { SecretField } from './fields';
import { PrometheusSection } from './PrometheusSection';

// The managed account needs two Grafana settings that are off by default (feature toggle externalServiceAccounts
// and [auth] managed_service_accounts_enabled) and serves one organisation; a token works everywhere. Never
// describe it as "on by default".
const ACCESS_OPTIONS: Array<{ label: string; value: SourceAccess; description: string }> = [
  {
    label: 'Managed service account',
    value: 'service_account',
    description:
      "The plugin's own service account. Grafana must enable the externalServiceAccounts feature toggle and [auth] managed_service_accounts_enabled (both off by default); one organisation only.",
  },
  {
    label: 'Service account token',
    value: 'token',
    description: 'A service account token you create and paste here, stored encrypted. Needs no Grafana setting.',
  },
];

export function SourceAccessSection() {
  const { jsonData, setJson, readOnly } = useEditor();
  const access = jsonData.sourceAccess ?? SETTINGS_DEFAULTS.sourceAccess;
  return (
    <ConfigSection
      title="Source access"
      description="How Sheepdog reads the series it analyses from your other data sources."
    >
      <Field
        label="Query other data sources as"
        description={
          access === 'token' ? (
            'Nested queries run as the service account that owns the token, not as the viewer of the dashboard.'
          ) : (
            <>
              Nested queries run as the plugin&apos;s managed service account, not as the viewer of the dashboard.
              Grafana creates that account only with the <code>externalServiceAccounts</code> feature toggle and{' '}
              <code>[auth] managed_service_accounts_enabled = true</code>, both off by default, and in a single
              organisation only; otherwise choose a service account token.
            </>
          )
        }
        htmlFor="sheepdog-sourceAccess"
        disabled={readOnly}
      >
        <RadioButtonGroup<SourceAccess>
          id="sheepdog-sourceAccess"
          options={ACCESS_OPTIONS}
          value={access}
          onChange={(v) => setJson('sourceAccess', v === SETTINGS_DEFAULTS.sourceAccess ? undefined : v)}
        />
      </Field>
      {access === 'token' && (
        <SecretField
          secretKey="grafanaToken"
          label="Service account token"
          description="Needs datasources:query on the allowed data sources. Stored encrypted."
          placeholder="glsa_…"
        />
      )}
      <AllowList />
      <PrometheusSection />
    </ConfigSection>
  );
}
