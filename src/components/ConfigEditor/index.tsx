import { Divider } from '@grafana/ui';
import React from 'react';

import { Description } from './Description';
import { ConfigEditorProps, EditorContext, useEditorState } from './editorContext';
import { EngineSection } from './EngineSection';
import { LimitsSection } from './LimitsSection';
import { SourceAccessSection } from './SourceAccessSection';

export type { ConfigEditorProps } from './editorContext';

/**
 * The data source settings page, one file per section (as grafana/clickhouse-datasource splits its config
 * editor). Sections are separated by dividers, as on Grafana's own data source pages.
 */
export function ConfigEditor(props: ConfigEditorProps) {
  const editor = useEditorState(props);
  return (
    <EditorContext.Provider value={editor}>
      <Description />
      <Divider />
      <EngineSection />
      <Divider />
      <SourceAccessSection />
      <Divider />
      <LimitsSection />
    </EditorContext.Provider>
  );
}
