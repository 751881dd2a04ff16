import { Alert, InlineField, InlineFieldRow, Input, TextArea, useStyles2 } from '@grafana/ui';
import React from 'react';

import { SheepdogSource } from '../../types';
import { LABEL_WIDTH } from './options';
import { getStyles } from './styles';

export function PrometheusSource(props: {
  source: SheepdogSource;
  configured: boolean;
  onSource: (patch: Partial<SheepdogSource>) => void;
  onRunQuery: () => void;
}) {
  const { source, configured, onSource, onRunQuery } = props;
  const styles = useStyles2(getStyles);
  return (
    <>
      {!configured && (
        <Alert severity="warning" title="No Prometheus URL is configured">
          Set one in this data source&apos;s settings (Source access, Prometheus-compatible URL), or pick a data source
          instead.
        </Alert>
      )}
      <InlineFieldRow>
        <InlineField label="PromQL" labelWidth={LABEL_WIDTH} grow shrink>
          <TextArea
            aria-label="PromQL expression"
            className={styles.code}
            rows={2}
            value={source.expr ?? ''}
            placeholder='rate(http_requests_total{job="api"}[5m])'
            onChange={(e) => onSource({ expr: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Legend" labelWidth={LABEL_WIDTH} tooltip="Series name template, e.g. {{instance}}">
          <Input
            aria-label="Legend format"
            width={40}
            value={source.legendFormat ?? ''}
            placeholder="{{instance}}"
            onChange={(e) => onSource({ legendFormat: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}
