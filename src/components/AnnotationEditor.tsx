import React from 'react';

import { QueryEditor, SheepdogQueryEditorProps } from './QueryEditor';

/** The query editor without output and alert choices: annotations always come from the anomaly windows. */
export function AnnotationEditor(props: SheepdogQueryEditorProps) {
  return <QueryEditor {...props} variant="annotation" />;
}
