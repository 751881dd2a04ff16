import { QueryEditorHelpProps } from '@grafana/data';
import { Button, Stack, Text, useStyles2 } from '@grafana/ui';
import React from 'react';

import { SheepdogQuery } from '../../types';
import { getStyles } from './styles';

interface Example {
  title: string;
  text: string;
  query: Omit<SheepdogQuery, 'refId'>;
}

/** Worked examples; Grafana keeps the row's refId and data source when one is used (DatasourceHelpPanel). */
export const HELP_EXAMPLES: Example[] = [
  {
    title: 'Request rate of a service',
    text:
      'A counter turned into a rate. Auto picks the method from the series; only spikes count, and a band with ' +
      'the anomaly windows is drawn on the graph.',
    query: {
      source: { type: 'prometheus', expr: 'sum by (job) (rate(http_requests_total[5m]))', legendFormat: '{{job}}' },
      detector: { method: 'auto', sensitivity: 50, direction: 'up', seasonality: 'auto' },
      outputs: ['bands', 'windows'],
    },
  },
  {
    title: 'CPU gauge with a daily cycle',
    text:
      'A gauge that follows the working day. Daily seasonality compares each point with the same time on earlier ' +
      'days, robust ignores past spikes, three days of history make the band ready at the left edge, and ' +
      'anomalies shorter than 10 minutes are not reported.',
    query: {
      source: {
        type: 'prometheus',
        expr: '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])))',
        legendFormat: '{{instance}}',
      },
      detector: {
        method: 'robust',
        sensitivity: 50,
        direction: 'both',
        seasonality: 'daily',
        history: '3d',
        minDuration: '10m',
      },
      outputs: ['bands', 'windows'],
    },
  },
  {
    title: 'Alert rule on error spikes',
    text:
      'In an alert rule, Sheepdog returns one number per series: the share of anomalous points in the last 10 ' +
      'minutes. Add a Threshold expression on it, e.g. IS ABOVE 0.2, to fire when a fifth of the window is anomalous.',
    query: {
      source: { type: 'prometheus', expr: 'sum by (service) (rate(http_requests_total{code=~"5.."}[5m]))' },
      detector: { method: 'auto', sensitivity: 60, direction: 'up', seasonality: 'auto', minDuration: '2m' },
      alert: { mode: 'anomaly_fraction', window: '10m' },
    },
  },
];

/** Shown by Grafana's "Show data source help" button on the query row (setQueryEditorHelp in module.ts). */
export function QueryEditorHelp({ onClickExample }: QueryEditorHelpProps<SheepdogQuery>) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.help} data-testid="sheepdog-query-help">
      <Text element="h4">Sheepdog query examples</Text>
      {HELP_EXAMPLES.map((ex) => (
        <Stack key={ex.title} direction="column" gap={0.5}>
          <Text weight="medium">{ex.title}</Text>
          <Text color="secondary">{ex.text}</Text>
          <Text variant="code">{ex.query.source.expr ?? ''}</Text>
          <div>
            <Button
              size="sm"
              variant="secondary"
              aria-label={`Use example: ${ex.title}`}
              onClick={() => onClickExample({ refId: 'A', ...ex.query })}
            >
              Use this example
            </Button>
          </div>
        </Stack>
      ))}
      <Text color="secondary">
        The examples use the Prometheus URL source; with a data source instead, pick it under Source and write the same
        expression in its own editor.
      </Text>
    </div>
  );
}
