import { expect, test } from '@grafana/plugin-e2e';

import { SheepdogOptions, SheepdogSecureJsonData } from '../src/types';

const TYPE = 'sheepdog-anomaly-datasource';
// Inside the `npm run server` stack Grafana reaches Prometheus and the API by service name.
const PROMETHEUS_URL = process.env.SHEEPDOG_PROMETHEUS_URL || 'http://prometheus:9090';

test('the config editor shows its sections with the embedded engine preselected', async ({
  createDataSourceConfigPage,
  page,
}) => {
  await createDataSourceConfigPage({ type: TYPE });
  await expect(page.getByRole('heading', { name: 'Detection engine' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Source access' })).toBeVisible();
  await expect(page.getByRole('radio', { name: 'Embedded' })).toBeChecked();
  await expect(page.getByLabel(/^API URL/)).toHaveCount(0);
});

test('"Save & test" succeeds for the embedded engine with a Prometheus URL', async ({
  createDataSourceConfigPage,
  page,
}) => {
  const configPage = await createDataSourceConfigPage({ type: TYPE });
  await page.getByLabel(/^URL/).fill(PROMETHEUS_URL);
  await expect(configPage.saveAndTest()).toBeOK();
  await expect(configPage).toHaveAlert('success');
});

test('"Save & test" reports an unreachable remote API', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: TYPE });
  await page.getByRole('radio', { name: 'Remote API' }).click();
  await page.getByLabel(/^API URL/).fill('http://127.0.0.1:9');
  await page.getByLabel(/^API key/).fill('wrong-key');
  await page.getByText('Resilience').click();
  await page.getByLabel(/^Retries/).fill('0');
  await page.getByRole('switch', { name: /Fall back to the embedded engine/ }).uncheck({ force: true });
  await expect(configPage.saveAndTest()).not.toBeOK();
  await expect(configPage).toHaveAlert('error');
});

test('the provisioned remote data source shows its API key as configured, never its value', async ({
  readProvisionedDataSource,
  gotoDataSourceConfigPage,
  page,
  selectors,
}) => {
  const ds = await readProvisionedDataSource<SheepdogOptions, SheepdogSecureJsonData>({
    fileName: 'sheepdog.yaml',
    name: 'Sheepdog (remote API)',
  });
  await gotoDataSourceConfigPage(ds.uid);
  await expect(page.getByRole('radio', { name: 'Remote API' })).toBeChecked();
  await expect(page.getByLabel(/^API key/)).toHaveValue('configured');
  await expect(page.getByLabel(/^API key/)).toBeDisabled();
  // A provisioned data source is read-only: Grafana shows "Test" instead of "Save & test" (grafana/grafana
  // public/app/features/datasources/components/ButtonRow.tsx, ButtonRow: canSave false), so plugin-e2e's
  // saveAndTest(), which clicks the Save & test button, cannot be used here.
  const health = page.waitForResponse((resp) => resp.url().includes(selectors.apis.DataSource.health(ds.uid, '')));
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  await expect(health).toBeOK();
});
