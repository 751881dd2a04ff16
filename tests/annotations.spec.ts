import { expect, test } from '@grafana/plugin-e2e';

import { SheepdogOptions } from '../src/types';

test('an annotation query shows the editor without outputs and runs', async ({
  annotationEditPage,
  readProvisionedDataSource,
  page,
}) => {
  const ds = await readProvisionedDataSource<SheepdogOptions>({ fileName: 'sheepdog.yaml', name: 'Sheepdog' });
  await annotationEditPage.datasource.set(ds.name);
  await page.getByRole('radio', { name: 'Prometheus URL' }).click();
  await page.getByLabel('PromQL expression').fill('sum(rate(prometheus_http_requests_total[5m]))');
  await expect(page.getByRole('group', { name: 'Outputs' })).toHaveCount(0);
  // Grafana's annotation editor runs the query only once prepareAnnotation returns the annotation itself
  // (StandardAnnotationQueryEditor.verifyDataSource); before issue 10 it never settled and this timed out.
  await expect(annotationEditPage.runQuery()).toBeOK();
  await expect(page.getByTestId('sheepdog-detector-summary')).toContainText('Sensitivity: 50');
});
