export { QueryEditor } from './QueryEditor';
export { QueryEditorHelp } from './QueryEditorHelp';
export { METHOD_OPTIONS, type SheepdogQueryEditorProps } from './options';
