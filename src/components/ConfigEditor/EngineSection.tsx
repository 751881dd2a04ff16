import { Field, RadioButtonGroup } from '@grafana/ui';
import React from 'react';

import { urlError } from '../../query';
import { Engine, SETTINGS_DEFAULTS } from '../../types';
import { ConfigSection } from '../ConfigSection';
import { useEditor } from './editorContext';
import { SecretField, TextField } from './fields';
import { ResilienceSection } from './ResilienceSection';
import { TlsFields } from './TlsFields';

const ENGINE_OPTIONS: Array<{ label: string; value: Engine; description: string }> = [
  { label: 'Embedded', value: 'embedded', description: 'Detect inside the plugin: no extra service to run' },
  { label: 'Remote API', value: 'remote', description: 'Send series to a Sheepdog-compatible detection API' },
];

export function EngineSection() {
  const { jsonData, setJson, readOnly, options } = useEditor();
  const engine = jsonData.engine ?? SETTINGS_DEFAULTS.engine;
  const tlsSet = Boolean(jsonData.remoteTlsSkipVerify || options.secureJsonFields?.remoteTlsCaCert);
  return (
    <ConfigSection
      title="Detection engine"
      description="Where anomaly detection runs. The embedded engine needs nothing else; a remote API lets you scale or swap the detector."
    >
      <Field label="Engine" htmlFor="sheepdog-engine" disabled={readOnly}>
        <RadioButtonGroup<Engine>
          id="sheepdog-engine"
          options={ENGINE_OPTIONS}
          value={engine}
          onChange={(v) => setJson('engine', v === SETTINGS_DEFAULTS.engine ? undefined : v)}
        />
      </Field>
      {engine === 'remote' && (
        <>
          <TextField
            settingKey="remoteUrl"
            label="API URL"
            description="Base URL of the detection API, e.g. http://sheepdog-api:8080"
            placeholder="http://sheepdog-api:8080"
            width={60}
            validate={urlError}
            requiredError="The remote engine needs the API URL"
          />
          <SecretField
            secretKey="remoteApiKey"
            label="API key"
            description="Sent as a bearer token to the API URL only. Stored encrypted; it is never shown again."
            placeholder="API key"
          />
          <ResilienceSection />
          <ConfigSection
            kind="subsection"
            title="TLS"
            description="Transport security for the API URL."
            isCollapsible
            isInitiallyOpen={tlsSet}
            summary={tlsSummary(
              Boolean(jsonData.remoteTlsSkipVerify),
              Boolean(options.secureJsonFields?.remoteTlsCaCert)
            )}
          >
            <TlsFields
              skipKey="remoteTlsSkipVerify"
              caKey="remoteTlsCaCert"
              caLabel="CA certificate"
              caDescription="PEM of the CA that signed the API's certificate, if it is not publicly trusted. Stored encrypted."
            />
          </ConfigSection>
        </>
      )}
    </ConfigSection>
  );
}

export function tlsSummary(skipVerify: boolean, caSet: boolean): string | undefined {
  const parts = [skipVerify && 'certificate verification skipped', caSet && 'custom CA certificate set'].filter(
    (p): p is string => Boolean(p)
  );
  return parts.length ? parts.join(' · ') : undefined;
}
