import { expect, test } from '@grafana/plugin-e2e';

import { SheepdogOptions } from '../src/types';

const CSV = [
  'timestamp,value',
  ...Array.from({ length: 240 }, (_, i) => `${1700000000 + i * 60},${i === 200 ? 50 : 10 + Math.sin(i / 10)}`),
].join('\n');

test('a PromQL query against the configured URL returns the value and its band', async ({
  panelEditPage,
  readProvisionedDataSource,
}) => {
  const ds = await readProvisionedDataSource<SheepdogOptions>({ fileName: 'sheepdog.yaml', name: 'Sheepdog' });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await row.getByRole('radio', { name: 'Prometheus URL' }).click();
  await row.getByLabel('PromQL expression').fill('sum(rate(prometheus_http_requests_total[5m]))');
  await expect(panelEditPage.refreshPanel()).toBeOK();
});

test('an inline CSV query flags the spike', async ({ panelEditPage, readProvisionedDataSource }) => {
  const ds = await readProvisionedDataSource<SheepdogOptions>({ fileName: 'sheepdog.yaml', name: 'Sheepdog' });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await row.getByRole('radio', { name: 'Inline CSV' }).click();
  await row.getByRole('textbox', { name: 'Inline CSV' }).fill(CSV);
  await row.getByText('Flags', { exact: true }).click();
  await panelEditPage.setVisualization('Table');
  await expect(panelEditPage.refreshPanel()).toBeOK();
  await expect(panelEditPage.panel.fieldNames).toContainText(['expected']);
});

test("picking an allowed data source embeds that data source's own query editor", async ({
  panelEditPage,
  readProvisionedDataSource,
  page,
}) => {
  const ds = await readProvisionedDataSource<SheepdogOptions>({ fileName: 'sheepdog.yaml', name: 'Sheepdog' });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await row.getByRole('radio', { name: 'Data source' }).click();
  // Grafana's data source picker lists cards in a dropdown, not role=option items; like plugin-e2e's own
  // DataSourcePicker.set (packages/plugin-e2e/src/models/components/DataSourcePicker.ts), type the name into its
  // input and press Enter.
  const picker = row.getByPlaceholder('Pick a data source');
  await picker.click();
  await picker.fill('Prometheus');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await expect(row.getByTestId('sheepdog-nested-editor')).toBeVisible();
  await expect(row.getByLabel('Prometheus query')).toBeVisible();
});

test('the query editor works in Explore', async ({ explorePage, readProvisionedDataSource }) => {
  const ds = await readProvisionedDataSource<SheepdogOptions>({ fileName: 'sheepdog.yaml', name: 'Sheepdog' });
  await explorePage.datasource.set(ds.name);
  const row = explorePage.getQueryEditorRow('A');
  await row.getByRole('radio', { name: 'Inline CSV' }).click();
  await row.getByRole('textbox', { name: 'Inline CSV' }).fill(CSV);
  await expect(explorePage.runQuery()).toBeOK();
});
