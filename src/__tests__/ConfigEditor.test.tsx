import { DataSourceSettings } from '@grafana/data';
import { setDataSourceSrv } from '@grafana/runtime';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import fs from 'fs';
import path from 'path';
import React, { useState } from 'react';

import { ConfigEditor, parseSimpleDuration } from '../components/ConfigEditor';
import { PLUGIN_ID, SheepdogOptions, SheepdogSecureJsonData } from '../types';
import { fakeDataSourceSrv, promLikeDataSource } from '../testing/helpers';

type Settings = DataSourceSettings<SheepdogOptions, SheepdogSecureJsonData>;

function settings(jsonData: SheepdogOptions = {}, secureJsonFields: Record<string, boolean> = {}): Settings {
  return {
    id: 1,
    uid: 'sheepdog',
    orgId: 1,
    name: 'Sheepdog',
    type: PLUGIN_ID,
    typeName: 'Sheepdog',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData,
    secureJsonFields,
    readOnly: false,
    withCredentials: false,
  };
}

/** Renders the editor the way Grafana's settings page does: it owns the options and passes changes back. */
function renderEditor(initial: Settings) {
  const changes: Settings[] = [];
  function Page() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          changes.push(o);
          setOptions(o);
        }}
      />
    );
  }
  render(<Page />);
  return { changes, last: () => changes[changes.length - 1] };
}

/** Types a long value in one paste: per-key typing re-renders the whole editor for each character. */
async function typeFast(el: HTMLElement, text: string) {
  await userEvent.click(el);
  await userEvent.paste(text);
}

beforeEach(() => {
  setDataSourceSrv(fakeDataSourceSrv([promLikeDataSource('prom-main', 'Prometheus main')]));
});

describe('ConfigEditor', () => {
  it('defaults to the embedded engine and hides the remote settings', () => {
    renderEditor(settings());
    expect(screen.getByRole('radio', { name: 'Embedded' })).toBeChecked();
    expect(screen.queryByLabelText(/^API URL/)).not.toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Managed service account' })).toBeChecked();
  });

  it('configures the remote engine; the API key goes to secureJsonData only', async () => {
    const { last } = renderEditor(settings());
    await userEvent.click(screen.getByRole('radio', { name: 'Remote API' }));
    expect(last().jsonData.engine).toBe('remote');
    expect(screen.getByText('The remote engine needs the API URL')).toBeInTheDocument();

    await typeFast(screen.getByLabelText(/^API URL/), 'http://sheepdog-api:8080');
    expect(screen.queryByText('The remote engine needs the API URL')).not.toBeInTheDocument();
    await typeFast(screen.getByLabelText(/^API key/), 's3cret-key');

    const o = last();
    expect(o.jsonData).toEqual({ engine: 'remote', remoteUrl: 'http://sheepdog-api:8080' });
    expect(o.secureJsonData).toEqual({ remoteApiKey: 's3cret-key' });
    expect(JSON.stringify(o.jsonData)).not.toContain('s3cret');
  });

  it('validates the API URL inline', async () => {
    renderEditor(settings({ engine: 'remote' }));
    await typeFast(screen.getByLabelText(/^API URL/), 'sheepdog-api:8080');
    expect(screen.getByText(/must start with http/)).toBeInTheDocument();
  });

  it('shows a configured secret without its value and Reset clears secureJsonFields', async () => {
    const { last } = renderEditor(settings({ engine: 'remote', remoteUrl: 'http://x:1' }, { remoteApiKey: true }));
    const key = screen.getByLabelText(/^API key/);
    expect(key).toBeDisabled();
    expect(key).toHaveValue('configured');
    await userEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last().secureJsonFields.remoteApiKey).toBe(false);
    expect(last().secureJsonData).toEqual({ remoteApiKey: '' });
    expect(screen.getByLabelText(/^API key/)).toBeEnabled();
  });

  it('shows defaults as placeholders and stores numbers and durations; rejects bad ones inline', async () => {
    const { last } = renderEditor(settings({ engine: 'remote', remoteUrl: 'http://x:1' }));
    await userEvent.click(screen.getByText('Resilience'));
    const retries = screen.getByLabelText(/^Retries/);
    expect(retries).toHaveAttribute('placeholder', '3');
    expect(screen.getByLabelText(/^Timeout/)).toHaveAttribute('placeholder', '5s');
    await userEvent.type(retries, '4');
    expect(last().jsonData.remoteRetries).toBe(4);

    await typeFast(screen.getByLabelText(/^Timeout/), '3 seconds');
    expect(screen.getByText(/is not a duration/)).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText(/^Timeout/));
    await userEvent.type(screen.getByLabelText(/^Timeout/), '3s');
    expect(screen.queryByText(/is not a duration/)).not.toBeInTheDocument();
    expect(last().jsonData.remoteTimeout).toBe('3s');

    await userEvent.type(screen.getByLabelText(/^Breaker threshold/), '0');
    expect(screen.getByText('Must be at least 1')).toBeInTheDocument();
    expect(last().jsonData.remoteBreakerThreshold).toBeUndefined();

    await userEvent.type(screen.getByLabelText(/^Backoff base/), '10s');
    expect(screen.getByText('The cap is shorter than the base delay')).toBeInTheDocument();

    const fallback = screen.getByLabelText(/Fall back to the embedded engine/);
    expect(fallback).toBeChecked();
    await userEvent.click(fallback);
    expect(last().jsonData.remoteFallback).toBe(false);
  });

  it('stores a service-account token as a secret', async () => {
    const { last } = renderEditor(settings());
    await userEvent.click(screen.getByRole('radio', { name: 'Service account token' }));
    await typeFast(screen.getByLabelText(/^Service account token/, { selector: 'input[type=password]' }), 'glsa_abc');
    expect(last().jsonData).toEqual({ sourceAccess: 'token' });
    expect(last().secureJsonData).toEqual({ grafanaToken: 'glsa_abc' });
  });

  it('configures the Prometheus URL with basic auth', async () => {
    const { last } = renderEditor(settings());
    await typeFast(screen.getByLabelText(/^URL/), 'http://prometheus:9090');
    await userEvent.click(screen.getByRole('radio', { name: 'Basic auth' }));
    expect(screen.getByText('Basic auth needs a user name')).toBeInTheDocument();
    await typeFast(screen.getByLabelText(/^User/), 'reader');
    await userEvent.type(screen.getByLabelText(/^Password/), 'pw');
    expect(last().jsonData).toEqual({
      prometheusUrl: 'http://prometheus:9090',
      prometheusAuth: 'basic',
      prometheusUser: 'reader',
    });
    expect(last().secureJsonData).toEqual({ prometheusPassword: 'pw' });
  });

  it('stores the Prometheus CA certificate as a secret', async () => {
    const { last } = renderEditor(settings({ prometheusUrl: 'https://mimir:443' }));
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    await typeFast(screen.getByLabelText(/^TLS CA certificate/), pem);
    expect(last().secureJsonData).toEqual({ prometheusTlsCaCert: pem });
    expect(last().jsonData).toEqual({ prometheusUrl: 'https://mimir:443' });
  });

  it('adds custom header rows: names in jsonData, values in secureJsonData; refuses Authorization', async () => {
    const { last } = renderEditor(settings({ prometheusUrl: 'http://mimir:8080' }));
    await userEvent.click(screen.getByRole('button', { name: /Add header/ }));
    await typeFast(screen.getByLabelText('Header 1 name'), 'X-Scope-OrgID');
    await typeFast(screen.getByLabelText('Header 1 value'), 'tenant-a');
    expect(last().jsonData).toEqual({ prometheusUrl: 'http://mimir:8080', prometheusHeaderName1: 'X-Scope-OrgID' });
    expect(last().secureJsonData).toEqual({ prometheusHeaderValue1: 'tenant-a' });

    await userEvent.click(screen.getByRole('button', { name: /Add header/ }));
    await typeFast(screen.getByLabelText('Header 2 name'), 'Authorization');
    expect(screen.getByText('Set credentials with Authentication above, not as a custom header')).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText('Header 2 name'));
    await typeFast(screen.getByLabelText('Header 2 name'), 'x-scope-orgid');
    expect(screen.getByText('This header is already set above')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Remove header 2' }));
    expect(screen.queryByLabelText('Header 2 name')).not.toBeInTheDocument();
    expect(last().jsonData).toEqual({ prometheusUrl: 'http://mimir:8080', prometheusHeaderName1: 'X-Scope-OrgID' });
  });

  it('shows configured header values without them; Reset and Remove clear the secret', async () => {
    const { last } = renderEditor(
      settings(
        {
          prometheusUrl: 'http://mimir:8080',
          prometheusHeaderName1: 'X-Scope-OrgID',
          prometheusHeaderName3: 'X-Api-Key',
        },
        { prometheusHeaderValue1: true, prometheusHeaderValue3: true }
      )
    );
    expect(screen.getByLabelText('Header 1 name')).toHaveValue('X-Scope-OrgID');
    const value1 = screen.getByLabelText('Header 1 value');
    expect(value1).toBeDisabled();
    expect(value1).toHaveValue('configured');
    expect(screen.getByLabelText('Header 3 name')).toHaveValue('X-Api-Key');

    // Header rows are the only configured secrets here; the first Reset is row 1's.
    const resets = screen.getAllByRole('button', { name: 'Reset' });
    expect(resets).toHaveLength(2);
    await userEvent.click(resets[0]);
    expect(last().secureJsonFields.prometheusHeaderValue1).toBe(false);
    expect(last().secureJsonData).toEqual({ prometheusHeaderValue1: '' });
    expect(screen.getByLabelText('Header 1 value')).toBeEnabled();
    expect(screen.getByLabelText('Header 3 value')).toBeDisabled();

    await userEvent.click(screen.getByRole('button', { name: 'Remove header 3' }));
    expect(last().jsonData).toEqual({ prometheusUrl: 'http://mimir:8080', prometheusHeaderName1: 'X-Scope-OrgID' });
    expect(last().secureJsonFields.prometheusHeaderValue3).toBe(false);
    expect(last().secureJsonData).toEqual({ prometheusHeaderValue1: '', prometheusHeaderValue3: '' });

    // A new row takes the next free number, never an old one whose secret might linger.
    await userEvent.click(screen.getByRole('button', { name: /Add header/ }));
    expect(screen.getByLabelText('Header 2 name')).toHaveValue('');
  });

  it('lists allowed data sources, including configured uids it cannot see', () => {
    renderEditor(settings({ allowedDatasources: ['prom-main', 'gone-uid'] }));
    const section = screen.getByRole('region', { name: 'Source access' });
    expect(within(section).getByText('Prometheus main')).toBeInTheDocument();
    expect(within(section).getByRole('button', { name: 'Remove Prometheus main' })).toBeInTheDocument();
    // Pills that do not fit are summarised as "... N" (jsdom has no layout): the unknown uid is counted, not lost.
    expect(
      within(section).queryByRole('button', { name: 'Remove gone-uid' }) ?? within(section).getByText('1')
    ).toBeInTheDocument();
  });

  it.each(
    fs.readdirSync(path.resolve(__dirname, '../../pkg/models/testdata/settings')).filter((f) => f.endsWith('.json'))
  )('renders the shared settings fixture %s', (file) => {
    const fixture = JSON.parse(
      fs.readFileSync(path.resolve(__dirname, '../../pkg/models/testdata/settings', file), 'utf8')
    );
    renderEditor(settings(fixture.jsonData, fixture.secureJsonFields));
    const j = fixture.jsonData as SheepdogOptions;
    expect(screen.getByRole('radio', { name: j.engine === 'remote' ? 'Remote API' : 'Embedded' })).toBeChecked();
    if (j.remoteUrl) {
      expect(screen.getByLabelText(/^API URL/)).toHaveValue(j.remoteUrl);
    }
    if (j.prometheusUrl) {
      expect(screen.getByLabelText(/^URL/)).toHaveValue(j.prometheusUrl);
    }
    if (fixture.secureJsonFields.remoteApiKey) {
      expect(screen.getByLabelText(/^API key/)).toHaveValue('configured');
    }
    if (fixture.secureJsonFields.prometheusPassword) {
      expect(screen.getByLabelText(/^Password/)).toHaveValue('configured');
    }
    expect(screen.queryByText(/is not a duration|must start with http/)).not.toBeInTheDocument();
  });
});

describe('parseSimpleDuration', () => {
  it.each([
    ['200ms', 200],
    ['5s', 5000],
    ['1h30m', 5400000],
    ['3d', 259200000],
    ['abc', undefined],
    ['5s junk', undefined],
  ])('%s -> %s', (v, ms) => {
    expect(parseSimpleDuration(v)).toBe(ms);
  });
});
