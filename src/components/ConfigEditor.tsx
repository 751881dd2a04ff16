import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { getDataSourceSrv } from '@grafana/runtime';
import {
  Alert,
  Button,
  Field,
  IconButton,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  SecretInput,
  SecretTextArea,
  Stack,
  Switch,
} from '@grafana/ui';
import React, { ChangeEvent, useMemo, useState } from 'react';

import { durationError, integerError, urlError } from '../query';
import {
  Engine,
  headerNameKey,
  headerValueKey,
  PLUGIN_ID,
  PrometheusAuth,
  SecureKey,
  SETTINGS_DEFAULTS,
  SheepdogOptions,
  SheepdogSecureJsonData,
  SourceAccess,
} from '../types';
import { ConfigSection } from './ConfigSection';

export type ConfigEditorProps = DataSourcePluginOptionsEditorProps<SheepdogOptions, SheepdogSecureJsonData>;

type StringKey = {
  [K in keyof SheepdogOptions]-?: SheepdogOptions[K] extends string | undefined ? K : never;
}[keyof SheepdogOptions];
type NumberKey = 'remoteRetries' | 'remoteBreakerThreshold' | 'remoteMaxInFlight';
type BoolKey = 'remoteFallback' | 'remoteTlsSkipVerify' | 'prometheusTlsSkipVerify';

const ENGINE_OPTIONS: Array<{ label: string; value: Engine; description: string }> = [
  { label: 'Embedded', value: 'embedded', description: 'Detect inside the plugin: no extra service to run' },
  { label: 'Remote API', value: 'remote', description: 'Send series to a Sheepdog-compatible detection API' },
];
const ACCESS_OPTIONS: Array<{ label: string; value: SourceAccess; description: string }> = [
  {
    label: 'Managed service account',
    value: 'service_account',
    description: "The plugin's own service account (externalServiceAccounts), nothing to configure",
  },
  { label: 'Service account token', value: 'token', description: 'A token you created, stored encrypted' },
];
const PROM_AUTH_OPTIONS: Array<{ label: string; value: PrometheusAuth }> = [
  { label: 'No auth', value: 'none' },
  { label: 'Basic auth', value: 'basic' },
  { label: 'Bearer token', value: 'bearer' },
];

const ALL_SOURCES = '*';

export function ConfigEditor(props: ConfigEditorProps) {
  const { options, onOptionsChange } = props;
  const jsonData = options.jsonData ?? {};
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData = options.secureJsonData ?? {};
  const engine = jsonData.engine ?? SETTINGS_DEFAULTS.engine;
  const access = jsonData.sourceAccess ?? SETTINGS_DEFAULTS.sourceAccess;
  const promAuth = jsonData.prometheusAuth ?? SETTINGS_DEFAULTS.prometheusAuth;

  const setJson = <K extends keyof SheepdogOptions>(key: K, value: SheepdogOptions[K] | undefined) => {
    const next = { ...jsonData };
    if (value === undefined || value === '') {
      delete next[key];
    } else {
      next[key] = value;
    }
    onOptionsChange({ ...options, jsonData: next });
  };
  const onText = (key: StringKey) => (e: ChangeEvent<HTMLInputElement>) => setJson(key, e.currentTarget.value);

  // Secrets go to secureJsonData only; Grafana encrypts them and never sends them back (secureJsonFields says
  // which are set). Reset marks the field unset and clears any value typed in this session.
  const onSecretChange = (key: SecureKey) => (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: e.currentTarget.value } });
  const onSecretReset = (key: SecureKey) => () =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });
  const secretProps = (key: SecureKey) => ({
    id: `sheepdog-${key}`,
    isConfigured: Boolean(secureJsonFields[key]),
    value: secureJsonData[key] ?? '',
    onReset: onSecretReset(key),
    onChange: onSecretChange(key),
  });

  // The same two TLS settings guard each HTTP target (the remote API, the Prometheus URL).
  const tlsFields = (skipKey: BoolKey, caKey: SecureKey, caLabel: string, caDescription: string) => (
    <>
      <BoolField
        settingKey={skipKey}
        label="Skip TLS verification"
        description="Accept any certificate. For testing only."
        defaultValue={false}
        jsonData={jsonData}
        onChange={setJson}
      />
      <Field label={caLabel} description={caDescription} htmlFor={`sheepdog-${caKey}`}>
        <SecretTextArea {...secretProps(caKey)} rows={5} cols={60} placeholder="-----BEGIN CERTIFICATE-----" />
      </Field>
    </>
  );

  const duration = (key: StringKey, label: string, description: string, placeholder: string) => {
    const err = durationError(jsonData[key] as string | undefined);
    return (
      <Field label={label} description={description} invalid={!!err} error={err} htmlFor={`sheepdog-${key}`}>
        <Input
          id={`sheepdog-${key}`}
          width={20}
          value={(jsonData[key] as string | undefined) ?? ''}
          placeholder={placeholder}
          onChange={onText(key)}
        />
      </Field>
    );
  };

  const backoffOrderError = useMemo(() => {
    const toMs = (v: string | undefined, def: string) => parseSimpleDuration(v || def);
    const base = toMs(jsonData.remoteBackoffBase, SETTINGS_DEFAULTS.remoteBackoffBase);
    const max = toMs(jsonData.remoteBackoffMax, SETTINGS_DEFAULTS.remoteBackoffMax);
    return base !== undefined && max !== undefined && max < base ? 'The cap is shorter than the base delay' : undefined;
  }, [jsonData.remoteBackoffBase, jsonData.remoteBackoffMax]);

  const remoteUrlError =
    urlError(jsonData.remoteUrl) ??
    (engine === 'remote' && !jsonData.remoteUrl?.trim() ? 'The remote engine needs the API URL' : undefined);
  const promUrlError = urlError(jsonData.prometheusUrl);

  return (
    <div>
      <ConfigSection
        title="Detection engine"
        description="Where anomaly detection runs. The embedded engine needs nothing else; a remote API lets you scale or swap the detector."
      >
        <Field label="Engine" htmlFor="sheepdog-engine">
          <RadioButtonGroup<Engine>
            id="sheepdog-engine"
            options={ENGINE_OPTIONS}
            value={engine}
            onChange={(v) => setJson('engine', v === SETTINGS_DEFAULTS.engine ? undefined : v)}
          />
        </Field>
        {engine === 'remote' && (
          <>
            <Field
              label="API URL"
              description="Base URL of the detection API, e.g. http://sheepdog-api:8080"
              required
              invalid={!!remoteUrlError}
              error={remoteUrlError}
              htmlFor="sheepdog-remoteUrl"
            >
              <Input
                id="sheepdog-remoteUrl"
                width={60}
                value={jsonData.remoteUrl ?? ''}
                placeholder="http://sheepdog-api:8080"
                onChange={onText('remoteUrl')}
              />
            </Field>
            <Field
              label="API key"
              description="Sent as a bearer token to the API URL only. Stored encrypted; it is never shown again."
              htmlFor="sheepdog-remoteApiKey"
            >
              <SecretInput {...secretProps('remoteApiKey')} width={60} placeholder="API key" />
            </Field>
            <ConfigSection
              kind="subsection"
              title="Resilience"
              description="How the plugin retries, backs off and stops calling an API that is failing. Empty fields use the default shown."
              isCollapsible
            >
              <Stack direction="row" wrap="wrap" gap={2}>
                {duration('remoteTimeout', 'Timeout', 'Per attempt', SETTINGS_DEFAULTS.remoteTimeout)}
                <NumberField
                  settingKey="remoteRetries"
                  label="Retries"
                  description="Extra attempts after a failure"
                  min={0}
                  jsonData={jsonData}
                  onChange={setJson}
                />
                {duration(
                  'remoteBackoffBase',
                  'Backoff base',
                  'First retry delay',
                  SETTINGS_DEFAULTS.remoteBackoffBase
                )}
                {duration('remoteBackoffMax', 'Backoff cap', 'Longest retry delay', SETTINGS_DEFAULTS.remoteBackoffMax)}
              </Stack>
              {backoffOrderError && <Alert severity="warning" title={backoffOrderError} />}
              <Stack direction="row" wrap="wrap" gap={2}>
                <NumberField
                  settingKey="remoteBreakerThreshold"
                  label="Breaker threshold"
                  description="Consecutive failures that open the circuit"
                  min={1}
                  jsonData={jsonData}
                  onChange={setJson}
                />
                {duration(
                  'remoteBreakerCooldown',
                  'Breaker cooldown',
                  'Pause before trying again',
                  SETTINGS_DEFAULTS.remoteBreakerCooldown
                )}
                <NumberField
                  settingKey="remoteMaxInFlight"
                  label="In-flight cap"
                  description="Concurrent requests to the API"
                  min={1}
                  jsonData={jsonData}
                  onChange={setJson}
                />
              </Stack>
              <BoolField
                settingKey="remoteFallback"
                label="Fall back to the embedded engine"
                description="When the API fails or the circuit is open, detect locally and mark the result"
                defaultValue={SETTINGS_DEFAULTS.remoteFallback}
                jsonData={jsonData}
                onChange={setJson}
              />
            </ConfigSection>
            <ConfigSection
              kind="subsection"
              title="TLS"
              description="Transport security for the API URL."
              isCollapsible
            >
              {tlsFields(
                'remoteTlsSkipVerify',
                'remoteTlsCaCert',
                'CA certificate',
                "PEM of the CA that signed the API's certificate, if it is not publicly trusted"
              )}
            </ConfigSection>
          </>
        )}
      </ConfigSection>

      <ConfigSection
        title="Source access"
        description="How Sheepdog reads the series it analyses from your other data sources."
      >
        <Field label="Query other data sources as" htmlFor="sheepdog-sourceAccess">
          <RadioButtonGroup<SourceAccess>
            id="sheepdog-sourceAccess"
            options={ACCESS_OPTIONS}
            value={access}
            onChange={(v) => setJson('sourceAccess', v === SETTINGS_DEFAULTS.sourceAccess ? undefined : v)}
          />
        </Field>
        {access === 'token' && (
          <Field
            label="Service account token"
            description="Needs datasources:query on the allowed data sources. Stored encrypted."
            htmlFor="sheepdog-grafanaToken"
          >
            <SecretInput {...secretProps('grafanaToken')} width={60} placeholder="glsa_…" />
          </Field>
        )}
        <AllowList jsonData={jsonData} onChange={(v) => setJson('allowedDatasources', v.length ? v : undefined)} />

        <ConfigSection
          kind="subsection"
          title="Prometheus-compatible URL"
          description="Optional: lets queries use PromQL directly against this URL, without a Grafana data source."
        >
          <Field
            label="URL"
            description="e.g. http://prometheus:9090 (Prometheus, Mimir, Thanos, VictoriaMetrics)"
            invalid={!!promUrlError}
            error={promUrlError}
            htmlFor="sheepdog-prometheusUrl"
          >
            <Input
              id="sheepdog-prometheusUrl"
              width={60}
              value={jsonData.prometheusUrl ?? ''}
              placeholder="http://prometheus:9090"
              onChange={onText('prometheusUrl')}
            />
          </Field>
          <Field label="Authentication" htmlFor="sheepdog-prometheusAuth">
            <RadioButtonGroup<PrometheusAuth>
              id="sheepdog-prometheusAuth"
              options={PROM_AUTH_OPTIONS}
              value={promAuth}
              onChange={(v) => setJson('prometheusAuth', v === SETTINGS_DEFAULTS.prometheusAuth ? undefined : v)}
            />
          </Field>
          {promAuth === 'basic' && (
            <Stack direction="row" gap={2}>
              <Field
                label="User"
                required
                invalid={!jsonData.prometheusUser}
                error={!jsonData.prometheusUser ? 'Basic auth needs a user name' : undefined}
                htmlFor="sheepdog-prometheusUser"
              >
                <Input
                  id="sheepdog-prometheusUser"
                  width={30}
                  value={jsonData.prometheusUser ?? ''}
                  onChange={onText('prometheusUser')}
                />
              </Field>
              <Field label="Password" htmlFor="sheepdog-prometheusPassword">
                <SecretInput {...secretProps('prometheusPassword')} width={30} />
              </Field>
            </Stack>
          )}
          {promAuth === 'bearer' && (
            <Field label="Bearer token" htmlFor="sheepdog-prometheusToken">
              <SecretInput {...secretProps('prometheusToken')} width={60} />
            </Field>
          )}
          {tlsFields(
            'prometheusTlsSkipVerify',
            'prometheusTlsCaCert',
            'TLS CA certificate',
            'PEM of the CA that signed the Prometheus certificate, if it is private. Stored encrypted.'
          )}
          <PrometheusHeaders
            jsonData={jsonData}
            secureJsonFields={secureJsonFields}
            secureJsonData={secureJsonData}
            onChange={(next) => onOptionsChange({ ...options, ...next })}
          />
        </ConfigSection>
      </ConfigSection>
    </div>
  );
}

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
 * back, so it cannot be moved to another number.
 */
function PrometheusHeaders(props: {
  jsonData: SheepdogOptions;
  secureJsonFields: Record<string, boolean>;
  secureJsonData: SheepdogSecureJsonData;
  onChange: (next: {
    jsonData: SheepdogOptions;
    secureJsonFields: Record<string, boolean>;
    secureJsonData: SheepdogSecureJsonData;
  }) => void;
}) {
  const { jsonData, secureJsonFields, secureJsonData, onChange } = props;
  const numbers = headerNumbers(jsonData);
  const update = (
    json: SheepdogOptions,
    fields: Record<string, boolean> = secureJsonFields,
    secure: SheepdogSecureJsonData = secureJsonData
  ) => onChange({ jsonData: json, secureJsonFields: fields, secureJsonData: secure });
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
      <Stack direction="column" gap={1}>
        {numbers.map((n, i) => {
          const name = jsonData[headerNameKey(n)] ?? '';
          const earlier = numbers.slice(0, i).map((m) => jsonData[headerNameKey(m)] ?? '');
          const err = headerNameError(name, earlier);
          const valueKey = headerValueKey(n);
          return (
            <Stack key={n} direction="row" gap={1} alignItems="flex-start">
              <Field invalid={!!err} error={err}>
                <Input
                  aria-label={`Header ${n} name`}
                  width={30}
                  value={name}
                  placeholder="X-Scope-OrgID"
                  onChange={(e) => update({ ...jsonData, [headerNameKey(n)]: e.currentTarget.value })}
                />
              </Field>
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
              <IconButton name="trash-alt" tooltip={`Remove header ${n}`} onClick={() => remove(n)} />
            </Stack>
          );
        })}
        <div>
          <Button variant="secondary" size="sm" icon="plus" onClick={add}>
            Add header
          </Button>
        </div>
      </Stack>
    </Field>
  );
}

function NumberField(props: {
  settingKey: NumberKey;
  label: string;
  description: string;
  min: number;
  jsonData: SheepdogOptions;
  onChange: (key: NumberKey, value: number | undefined) => void;
}) {
  const { settingKey, label, description, min, jsonData, onChange } = props;
  const stored = jsonData[settingKey];
  // Keep what is typed so an invalid entry can be shown and fixed; only valid whole numbers reach jsonData.
  const [text, setText] = useState(stored === undefined ? '' : String(stored));
  const err = integerError(text, min);
  const id = `sheepdog-${settingKey}`;
  return (
    <Field label={label} description={description} invalid={!!err} error={err} htmlFor={id}>
      <Input
        id={id}
        width={20}
        type="number"
        min={min}
        step={1}
        value={text}
        placeholder={String(SETTINGS_DEFAULTS[settingKey])}
        onChange={(e) => {
          const v = e.currentTarget.value;
          setText(v);
          if (v.trim() === '') {
            onChange(settingKey, undefined);
          } else if (!integerError(v, min)) {
            onChange(settingKey, Number(v));
          }
        }}
      />
    </Field>
  );
}

function BoolField(props: {
  settingKey: BoolKey;
  label: string;
  description: string;
  defaultValue: boolean;
  jsonData: SheepdogOptions;
  onChange: (key: BoolKey, value: boolean | undefined) => void;
}) {
  const { settingKey, label, description, defaultValue, jsonData, onChange } = props;
  const id = `sheepdog-${settingKey}`;
  return (
    <Field label={label} description={description} htmlFor={id}>
      <Switch
        id={id}
        value={jsonData[settingKey] ?? defaultValue}
        onChange={(e) => onChange(settingKey, e.currentTarget.checked)}
      />
    </Field>
  );
}

function AllowList({ jsonData, onChange }: { jsonData: SheepdogOptions; onChange: (uids: string[]) => void }) {
  const configured = jsonData.allowedDatasources;
  const selected = useMemo(() => configured ?? [], [configured]);
  const options = useMemo(() => {
    const list = getDataSourceSrv()
      .getList({ metrics: true })
      .filter((ds) => ds.type !== PLUGIN_ID && !ds.meta?.mixed && ds.uid !== 'grafana' && ds.uid !== '-- Dashboard --');
    const opts = [
      { label: 'All data sources', value: ALL_SOURCES, description: 'Any data source the querying user can read' },
      ...list.map((ds) => ({
        label: ds.name,
        value: ds.uid,
        description: `${ds.meta?.name ?? ds.type} · uid ${ds.uid}`,
      })),
    ];
    // Keep uids that are configured but not visible here (deleted, or not readable by this admin).
    for (const uid of selected) {
      if (!opts.some((o) => o.value === uid)) {
        opts.push({ label: uid, value: uid, description: 'Not found in this organization' });
      }
    }
    return opts;
  }, [selected]);
  return (
    <Field
      label="Allowed data sources"
      description="Sheepdog queries only these data sources, on behalf of the user. Nothing is allowed until you add some."
      htmlFor="sheepdog-allowedDatasources"
    >
      <MultiCombobox<string>
        id="sheepdog-allowedDatasources"
        aria-label="Allowed data sources"
        width={60}
        options={options}
        value={selected}
        placeholder="Pick data sources"
        createCustomValue
        onChange={(opts) => onChange(opts.map((o) => o.value))}
      />
    </Field>
  );
}

/** Milliseconds of a simple duration ("200ms", "5s", "1m", "1h30m", "3d"), or undefined. */
export function parseSimpleDuration(v: string): number | undefined {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1e3,
    m: 6e4,
    h: 36e5,
    d: 864e5,
    w: 6048e5,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.trim().matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === v.trim().length && consumed > 0 ? total : undefined;
}
