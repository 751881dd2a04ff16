import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Collapse, Stack, Text, useStyles2 } from '@grafana/ui';
import React, { ReactNode, useState } from 'react';

interface Props {
  title: string;
  description?: ReactNode;
  /** Collapsible sections start closed unless isInitiallyOpen. */
  isCollapsible?: boolean;
  isInitiallyOpen?: boolean;
  children: ReactNode;
  /** Sub-sections use a smaller heading. */
  kind?: 'section' | 'subsection';
}

/** Config-editor section in the style of @grafana/plugin-ui's ConfigSection, built on @grafana/ui only. */
export function ConfigSection({
  title,
  description,
  isCollapsible,
  isInitiallyOpen,
  children,
  kind = 'section',
}: Props) {
  const styles = useStyles2(getStyles);
  const [open, setOpen] = useState(isInitiallyOpen ?? !isCollapsible);
  const heading = (
    <Stack direction="column" gap={0.5}>
      <Text element={kind === 'section' ? 'h3' : 'h5'}>{title}</Text>
      {description && (
        <Text variant="bodySmall" color="secondary">
          {description}
        </Text>
      )}
    </Stack>
  );
  if (isCollapsible) {
    return (
      <div className={styles.section}>
        <Collapse label={title} isOpen={open} onToggle={() => setOpen(!open)}>
          {description && (
            <div className={styles.description}>
              <Text variant="bodySmall" color="secondary">
                {description}
              </Text>
            </div>
          )}
          {children}
        </Collapse>
      </div>
    );
  }
  return (
    <section className={styles.section} aria-label={title}>
      <div className={styles.heading}>{heading}</div>
      {children}
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  section: css({ marginBottom: theme.spacing(4), maxWidth: 720 }),
  heading: css({ marginBottom: theme.spacing(2) }),
  description: css({ marginBottom: theme.spacing(2) }),
});
