import { DataSourceSettings } from '@grafana/data';
import { setDataSourceSrv } from '@grafana/runtime';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import fs from 'fs';
import path from 'path';
import React, { useState } from 'react';

import { ConfigEditor } from '../components/ConfigEditor';
import { PLUGIN_ID, SheepdogOptions, SheepdogSecureJsonData } from '../types';
import { fakeDataSourceSrv, promLikeDataSource } from '../testing/helpers';

// jsdom lacks URL.canParse, which TextLink's URL sanitizer (@braintree/sanitize-url) calls; browsers have it.
if (!('canParse' in URL)) {
  Object.assign(URL, {
    canParse: (u: string, base?: string) => {
      try {
        new URL(u, base);
        return true;
      } catch {
        return false;
      }
    },
  });
}

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
    // Required by DataSourceSettings though deprecated (packages/grafana-data/src/types/datasource.ts).
    // eslint-disable-next-line @typescript-eslint/no-deprecated
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
    // "Required" waits until the field was visited and left empty.
    expect(screen.queryByText('The remote engine needs the API URL')).not.toBeInTheDocument();
    await userEvent.click(screen.getByLabelText(/^API URL/));
    await userEvent.tab();
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
    expect(screen.queryByText(/must start with http/)).not.toBeInTheDocument();
    await userEvent.tab();
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
    await userEvent.click(screen.getByRole('button', { name: 'Expand section Resilience' }));
    const retries = screen.getByLabelText(/^Retries/);
    expect(retries).toHaveAttribute('placeholder', '3');
    expect(screen.getByLabelText(/^Timeout/)).toHaveAttribute('placeholder', '5s');
    // models.DefaultRemoteMaxCallsPerQuery (pkg/models/config.go).
    expect(screen.getByLabelText(/^Calls per query/)).toHaveAttribute('placeholder', '200');
    await userEvent.type(retries, '4');
    expect(last().jsonData.remoteRetries).toBe(4);

    await typeFast(screen.getByLabelText(/^Timeout/), '3 seconds');
    await userEvent.tab();
    expect(screen.getByText(/is not a duration/)).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText(/^Timeout/));
    await userEvent.type(screen.getByLabelText(/^Timeout/), '3s');
    await userEvent.tab();
    expect(screen.queryByText(/is not a duration/)).not.toBeInTheDocument();
    expect(last().jsonData.remoteTimeout).toBe('3s');

    await userEvent.type(screen.getByLabelText(/^Breaker threshold/), '0');
    await userEvent.tab();
    expect(screen.getByText('Must be at least 1')).toBeInTheDocument();
    expect(last().jsonData.remoteBreakerThreshold).toBeUndefined();

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
    await userEvent.click(screen.getByLabelText(/^User/));
    await userEvent.tab();
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
    await userEvent.tab();
    expect(screen.getByText('Set credentials with Authentication above, not as a custom header')).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText('Header 2 name'));
    await typeFast(screen.getByLabelText('Header 2 name'), 'x-scope-orgid');
    await userEvent.tab();
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

describe('ConfigEditor as a Grafana user meets it', () => {
  it('disables every control of a provisioned (readOnly) data source', async () => {
    // Grafana marks provisioned data sources readOnly in DataSourceSettings and its own pages disable their inputs
    // with it: PromSettings passes disabled={options.readOnly} to every InlineField
    // (grafana/grafana packages/grafana-prometheus/src/configuration/PromSettings.tsx); EditDataSourceView
    // (public/app/features/datasources/components/EditDataSource.tsx) only hides Save, so the editor must disable.
    const s = settings(
      {
        engine: 'remote',
        remoteUrl: 'http://x:1',
        remoteRetries: 4,
        remoteTlsSkipVerify: true,
        sourceAccess: 'token',
        allowedDatasources: ['prom-main'],
        prometheusUrl: 'http://prom:9090',
        prometheusAuth: 'basic',
        prometheusUser: 'reader',
        prometheusHeaderName1: 'X-Scope-OrgID',
        maxSeriesPerQuery: 100,
      },
      {
        remoteApiKey: true,
        remoteTlsCaCert: true,
        grafanaToken: true,
        prometheusPassword: true,
        prometheusHeaderValue1: true,
      }
    );
    renderEditor({ ...s, readOnly: true });
    const controls = Array.from(document.body.querySelectorAll<HTMLElement>('input, textarea, select, button')).filter(
      // Opening and closing a section changes nothing.
      (el) => !/^(Expand|Collapse) section /.test(el.getAttribute('aria-label') ?? '')
    );
    expect(controls.length).toBeGreaterThan(20);
    const enabled = controls.filter((el) => !(el as HTMLInputElement).disabled);
    expect(enabled.map((el) => el.outerHTML.slice(0, 120))).toEqual([]);
    expect(screen.queryByRole('button', { name: 'Reset' })).not.toBeInTheDocument();
    expect(screen.getByLabelText(/^API key/)).toHaveValue('configured');
  });

  it('does not call a half-typed duration an error; checks it when the field is left', async () => {
    const { last } = renderEditor(settings({ engine: 'remote', remoteUrl: 'http://x:1' }));
    await userEvent.click(screen.getByRole('button', { name: 'Expand section Resilience' }));
    const timeout = screen.getByLabelText(/^Timeout/);
    await userEvent.type(timeout, '3');
    expect(last().jsonData.remoteTimeout).toBe('3');
    expect(screen.queryByText(/is not a duration/)).not.toBeInTheDocument();
    await userEvent.tab();
    const msg = screen.getByText(/is not a duration/);
    expect(timeout).toHaveAccessibleDescription(/is not a duration/);
    // The field that holds input and message keeps a fixed width (theme.spacing(24)), so the message wraps inside
    // it instead of widening the field and reflowing the row.
    let field: HTMLElement | null = timeout;
    while (field && !(field.contains(msg) && field.contains(screen.getByText('Per attempt')))) {
      field = field.parentElement;
    }
    expect(field && getComputedStyle(field).width).toBe('192px');
    // Editing again hides it until the field is left again.
    await userEvent.type(timeout, 's');
    expect(screen.queryByText(/is not a duration/)).not.toBeInTheDocument();
    await userEvent.tab();
    expect(screen.queryByText(/is not a duration/)).not.toBeInTheDocument();
    expect(last().jsonData.remoteTimeout).toBe('3s');
  });

  it('shows an invalid saved value at once', () => {
    renderEditor(settings({ engine: 'remote', remoteUrl: 'http://x:1', remoteTimeout: '5 sec' }));
    expect(screen.getByText(/"5 sec" is not a duration/)).toBeInTheDocument();
  });

  it('opens Resilience and TLS when one of their settings differs from the default, with a summary when closed', async () => {
    renderEditor(
      settings({
        engine: 'remote',
        remoteUrl: 'http://x:1',
        remoteFallback: false,
        remoteRetries: 4,
        remoteMaxCallsPerQuery: 50,
      })
    );
    expect(screen.getByLabelText(/Fall back to the embedded engine/)).not.toBeChecked();
    await userEvent.click(screen.getByRole('button', { name: 'Collapse section Resilience' }));
    expect(screen.getByText('Changed: retries 4 · calls per query 50 · fallback off')).toBeInTheDocument();
    // TLS holds nothing set: it stays closed.
    expect(screen.getByRole('button', { name: 'Expand section TLS' })).toBeInTheDocument();
    expect(screen.queryByLabelText(/Skip TLS verification/)).not.toBeInTheDocument();
  });

  it('opens TLS when certificate checks are skipped or a CA is stored', () => {
    renderEditor(settings({ engine: 'remote', remoteUrl: 'http://x:1', remoteTlsSkipVerify: true }));
    expect(screen.getByRole('button', { name: 'Collapse section TLS' })).toBeInTheDocument();
    expect(screen.getByLabelText(/Skip TLS verification/)).toBeChecked();
    expect(screen.getByRole('button', { name: 'Expand section Resilience' })).toBeInTheDocument();
  });

  it('offers Prometheus authentication, TLS, CA and headers only once a Prometheus URL is set', async () => {
    renderEditor(settings());
    expect(screen.queryByRole('radio', { name: 'Basic auth' })).not.toBeInTheDocument();
    expect(screen.queryByLabelText(/^TLS CA certificate/)).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Add header/ })).not.toBeInTheDocument();
    await typeFast(screen.getByLabelText(/^URL/), 'http://prometheus:9090');
    expect(screen.getByRole('radio', { name: 'Basic auth' })).toBeInTheDocument();
    expect(screen.getByLabelText(/^TLS CA certificate/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Add header/ })).toBeInTheDocument();
  });

  it('lays header rows under Header and Value column labels; a name error gets its own row', async () => {
    renderEditor(settings({ prometheusUrl: 'http://mimir:8080', prometheusHeaderName1: 'X-Scope-OrgID' }));
    const grid = screen.getByRole('group', { name: 'Custom HTTP headers' });
    expect(within(grid).getByText('Header')).toBeInTheDocument();
    expect(within(grid).getByText('Value')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: /Add header/ }));
    await typeFast(screen.getByLabelText('Header 2 name'), 'Bad Name');
    await userEvent.tab();
    const err = screen.getByText(/Not a valid header name/);
    // A grid cell of its own, not inside the name input's box (which would push its row's value out of line).
    expect(err.closest('[role=group] > div')).not.toContainElement(screen.getByLabelText('Header 2 name'));
    expect(err.closest('[role=group] > div')?.parentElement).toBe(grid);
  });

  it('reports a backoff cap below the base on the Backoff cap field, not in a page-wide box', () => {
    renderEditor(settings({ engine: 'remote', remoteUrl: 'http://x:1', remoteBackoffBase: '10s' }));
    const cap = screen.getByLabelText(/^Backoff cap/);
    expect(cap).toHaveAccessibleDescription('Shorter than the backoff base (10s)');
    expect(screen.getByLabelText(/^Backoff base/)).not.toHaveAccessibleDescription(/Shorter/);
    expect(document.body.querySelector('[data-testid="data-testid Alert warning"]')).toBeNull();
  });

  it('keeps the budgets in a Limits section that opens when one is set; per request below per query is its error', async () => {
    renderEditor(settings({ maxPointsPerQuery: 3_000_000 }));
    // pkg/models/config.go refuses maxPointsPerQuery above maxPointsPerRequest (default 2,000,000).
    expect(screen.getByLabelText(/^Points per query/)).toHaveValue(3000000);
    expect(screen.getByLabelText(/^Points per request/)).toHaveAccessibleDescription(
      'Below the points per query (3000000): a request holds one or more queries'
    );
    expect(screen.getByLabelText(/^Series per query/)).toHaveAttribute('placeholder', '500');
    await userEvent.click(screen.getByRole('button', { name: 'Collapse section Limits' }));
    expect(screen.getByText('Changed: points per query 3000000')).toBeInTheDocument();
  });

  it('keeps Limits closed while every budget is the default', () => {
    renderEditor(settings());
    expect(screen.getByRole('button', { name: 'Expand section Limits' })).toBeInTheDocument();
    expect(screen.queryByLabelText(/^Points per query/)).not.toBeInTheDocument();
  });

  it('says who runs nested queries and what the managed service account needs', async () => {
    renderEditor(settings());
    const page = document.body.textContent ?? '';
    expect(page).not.toMatch(/on behalf of the user/i);
    expect(page).not.toMatch(/on by default/i);
    expect(page).toMatch(/externalServiceAccounts/);
    expect(page).toMatch(/managed_service_accounts_enabled/);
    expect(
      screen.getByText(/Nested queries run as the plugin's managed service account, not as the viewer/)
    ).toBeInTheDocument();
    await userEvent.click(screen.getByRole('radio', { name: 'Service account token' }));
    expect(screen.getByText(/Nested queries run as the service account that owns the token/)).toBeInTheDocument();
  });

  it('opens with a short description and a link to the docs, like Grafana config pages', () => {
    renderEditor(settings());
    expect(screen.getByRole('link', { name: /Sheepdog documentation/ })).toHaveAttribute(
      'href',
      'https://github.com/sheepdog-anomaly/sheepdog#readme'
    );
    expect(screen.getByText('Fields marked with * are required.')).toBeInTheDocument();
  });
});
