import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor, QueryEditorHelp } from './components/QueryEditor';
import { DataSource } from './datasource';
import { SheepdogOptions, SheepdogQuery, SheepdogSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<DataSource, SheepdogQuery, SheepdogOptions, SheepdogSecureJsonData>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor)
  .setQueryEditorHelp(QueryEditorHelp);
