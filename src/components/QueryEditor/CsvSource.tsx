import { InlineField, InlineFieldRow, TextArea, useStyles2 } from '@grafana/ui';
import React, { useMemo } from 'react';

import { MAX_CSV_BYTES } from '../../types';
import { LABEL_WIDTH } from './options';
import { getStyles } from './styles';

export function CsvSource({
  csv,
  onCsv,
  onRunQuery,
}: {
  csv: string;
  onCsv: (v: string) => void;
  onRunQuery: () => void;
}) {
  const styles = useStyles2(getStyles);
  const bytes = useMemo(() => new Blob([csv]).size, [csv]);
  const tooBig = bytes > MAX_CSV_BYTES;
  return (
    <InlineFieldRow>
      <InlineField
        label="CSV"
        labelWidth={LABEL_WIDTH}
        grow
        shrink
        invalid={tooBig}
        error={tooBig ? `${bytes} bytes: inline CSV is limited to ${MAX_CSV_BYTES} bytes` : undefined}
        tooltip="First column: unix seconds, RFC3339 or YYYY-MM-DD HH:MM:SS (UTC). Other columns: values."
      >
        <TextArea
          aria-label="Inline CSV"
          className={styles.code}
          rows={8}
          value={csv}
          placeholder={'timestamp,value\n2024-01-01 00:00:00,1.5\n2024-01-01 00:01:00,1.7'}
          onChange={(e) => onCsv(e.currentTarget.value)}
          onBlur={onRunQuery}
        />
      </InlineField>
    </InlineFieldRow>
  );
}
