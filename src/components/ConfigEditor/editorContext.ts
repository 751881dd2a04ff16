import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { ChangeEvent, createContext, useCallback, useContext, useMemo, useState } from 'react';

import { SecureKey, SheepdogOptions, SheepdogSecureJsonData } from '../../types';

export type ConfigEditorProps = DataSourcePluginOptionsEditorProps<SheepdogOptions, SheepdogSecureJsonData>;

export type JsonKey = keyof SheepdogOptions & string;

export interface SecretState {
  id: string;
  isConfigured: boolean;
  value: string;
  onReset: () => void;
  onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => void;
}

/** What every section needs: the settings, how to change them, and whether a field may show its error yet. */
export interface Editor {
  options: ConfigEditorProps['options'];
  onOptionsChange: ConfigEditorProps['onOptionsChange'];
  jsonData: SheepdogOptions;
  /** Grafana sets readOnly on provisioned data sources; nothing typed here could be saved. */
  readOnly: boolean;
  setJson: <K extends JsonKey>(key: K, value: SheepdogOptions[K] | undefined) => void;
  secret: (key: SecureKey) => SecretState;
  /**
   * Whether the field's current value is one the user has left (blur) or that was saved: only then is it
   * validated, so a half-typed "3" on the way to "3s" is not an error.
   */
  settled: (key: string) => boolean;
  /** Whether the field was left at least once: "required" errors wait for it. */
  touched: (key: string) => boolean;
  leave: (key: string, value: string) => void;
}

export const EditorContext = createContext<Editor | undefined>(undefined);

export function useEditor(): Editor {
  const e = useContext(EditorContext);
  if (!e) {
    throw new Error('useEditor outside ConfigEditor');
  }
  return e;
}

const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

export function useEditorState({ options, onOptionsChange }: ConfigEditorProps): Editor {
  const jsonData = useMemo(() => options.jsonData ?? {}, [options.jsonData]);
  const secureJsonFields = useMemo(() => options.secureJsonFields ?? {}, [options.secureJsonFields]);
  const secureJsonData = useMemo(() => options.secureJsonData ?? {}, [options.secureJsonData]);
  const readOnly = Boolean(options.readOnly);

  // The value each field had when last left; saved values count as left. Grafana's Prometheus settings do the
  // same: PromSettings keeps the value from onBlur and validates that (packages/grafana-prometheus/src/
  // configuration/PromSettings.tsx, updateValidDuration in onBlur, then validateInput).
  const [left, setLeft] = useState<Record<string, string>>(() =>
    Object.fromEntries(Object.entries(jsonData).map(([k, v]) => [k, text(v)]))
  );
  const [touchedKeys, setTouched] = useState<Record<string, true>>({});

  const setJson = useCallback(
    <K extends JsonKey>(key: K, value: SheepdogOptions[K] | undefined) => {
      const next = { ...jsonData };
      if (value === undefined || value === '') {
        delete next[key];
      } else {
        next[key] = value;
      }
      onOptionsChange({ ...options, jsonData: next });
    },
    [jsonData, onOptionsChange, options]
  );

  // Secrets go to secureJsonData only; Grafana encrypts them and never sends them back (secureJsonFields says
  // which are set). Reset marks the field unset and clears any value typed in this session.
  const secret = (key: SecureKey): SecretState => ({
    id: `sheepdog-${key}`,
    isConfigured: Boolean(secureJsonFields[key]),
    value: secureJsonData[key] ?? '',
    onReset: () =>
      onOptionsChange({
        ...options,
        secureJsonFields: { ...secureJsonFields, [key]: false },
        secureJsonData: { ...secureJsonData, [key]: '' },
      }),
    onChange: (e) =>
      onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: e.currentTarget.value } }),
  });

  return {
    options,
    onOptionsChange,
    jsonData,
    readOnly,
    setJson,
    secret,
    settled: (key) => text((jsonData as Record<string, unknown>)[key]) === (left[key] ?? ''),
    touched: (key) => Boolean(touchedKeys[key]),
    leave: (key, value) => {
      setLeft((l) => ({ ...l, [key]: value }));
      setTouched((t) => ({ ...t, [key]: true }));
    },
  };
}
