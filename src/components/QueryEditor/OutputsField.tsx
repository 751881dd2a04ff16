import { Checkbox, InlineField, InlineFieldRow, useStyles2 } from '@grafana/ui';
import React, { useId } from 'react';

import { ALL_OUTPUTS, DEFAULT_OUTPUTS, Output } from '../../types';
import { LABEL_WIDTH, OUTPUT_LABELS } from './options';
import { getStyles } from './styles';

/**
 * One checkbox per output. Each gets its own id: @grafana/ui's Checkbox otherwise takes the id of the enclosing
 * field (FieldContext), so all four shared it and a click on the "Outputs" label toggled Bands. The label points at
 * the group, which no click toggles.
 */
export function OutputsField(props: {
  outputs?: Output[];
  disabled?: boolean;
  onOutputs: (outputs: Output[] | undefined) => void;
  onRunQuery: () => void;
}) {
  const { disabled, onOutputs, onRunQuery } = props;
  const styles = useStyles2(getStyles);
  const id = useId();
  const outputs = props.outputs?.length ? props.outputs : DEFAULT_OUTPUTS;
  return (
    <InlineFieldRow>
      <InlineField
        label="Outputs"
        labelWidth={LABEL_WIDTH}
        htmlFor={`${id}-group`}
        disabled={disabled}
        grow
        shrink
        tooltip={
          disabled
            ? 'Alert frames are on: the query returns the alert number, not these outputs'
            : 'What the query returns for each series'
        }
      >
        <div id={`${id}-group`} className={styles.checkboxes} role="group" aria-label="Outputs">
          {ALL_OUTPUTS.map((o) => (
            <Checkbox
              key={o}
              id={`${id}-${o}`}
              label={OUTPUT_LABELS[o].label}
              description={OUTPUT_LABELS[o].description}
              value={outputs.includes(o)}
              disabled={disabled}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                const next = ALL_OUTPUTS.filter((x) => (x === o ? on : outputs.includes(x)));
                onOutputs(next.length ? next : undefined);
                onRunQuery();
              }}
            />
          ))}
        </div>
      </InlineField>
    </InlineFieldRow>
  );
}
