import { getDataSourceSrv } from '@grafana/runtime';
import { Field, MultiCombobox } from '@grafana/ui';
import React, { useMemo } from 'react';

import { PLUGIN_ID } from '../../types';
import { useEditor } from './editorContext';

const ALL_SOURCES = '*';

export function AllowList() {
  const { jsonData, setJson, readOnly, options: settings } = useEditor();
  const configured = jsonData.allowedDatasources;
  const selected = useMemo(() => configured ?? [], [configured]);
  const runsAs =
    (jsonData.sourceAccess ?? 'service_account') === 'token' ? 'the token' : "the plugin's service account";
  const options = useMemo(() => {
    const list = getDataSourceSrv()
      .getList({ metrics: true })
      .filter((ds) => ds.type !== PLUGIN_ID && !ds.meta?.mixed && ds.uid !== 'grafana' && ds.uid !== '-- Dashboard --');
    const opts = [
      { label: 'All data sources', value: ALL_SOURCES, description: `Any data source ${runsAs} can read` },
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
  }, [selected, runsAs]);
  return (
    <Field
      label="Allowed data sources"
      description={`Sheepdog queries only these data sources, as ${runsAs}: a viewer sees results from them even without access of their own. Nothing is allowed until you add some.`}
      htmlFor="sheepdog-allowedDatasources"
      disabled={readOnly || settings.readOnly}
    >
      <MultiCombobox<string>
        id="sheepdog-allowedDatasources"
        aria-label="Allowed data sources"
        width={60}
        options={options}
        value={selected}
        placeholder="Pick data sources"
        createCustomValue
        onChange={(opts) => setJson('allowedDatasources', opts.length ? opts.map((o) => o.value) : undefined)}
      />
    </Field>
  );
}
