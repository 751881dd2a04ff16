import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { IconButton, Text, useStyles2 } from '@grafana/ui';
import React, { ReactNode, useState } from 'react';

interface Props {
  title: string;
  description?: ReactNode;
  /** Collapsible sections start closed unless isInitiallyOpen. */
  isCollapsible?: boolean;
  isInitiallyOpen?: boolean;
  /** One line naming the settings a closed section holds, so closing it hides nothing that is live. */
  summary?: string;
  children: ReactNode;
  /** Sub-sections use a smaller heading. */
  kind?: 'section' | 'subsection';
}

/**
 * Config-editor section laid out as @grafana/plugin-ui's ConfigSection and ConfigSubSection (GenericConfigSection
 * in src/components/ConfigEditor/ConfigSection/GenericConfigSection.tsx of grafana/plugin-ui): title (h3, or h6
 * for a sub-section), an angle-up/angle-down IconButton "Expand/Collapse section X" on the right, the
 * description under the title, the content only while open. That package is not a dependency, so this is
 * @grafana/ui only.
 */
export function ConfigSection({
  title,
  description,
  isCollapsible,
  isInitiallyOpen,
  summary,
  children,
  kind = 'section',
}: Props) {
  const styles = useStyles2(getStyles);
  const [open, setOpen] = useState(isCollapsible ? Boolean(isInitiallyOpen) : true);
  const toggle = () => setOpen(!open);
  return (
    <section className={kind === 'section' ? styles.section : styles.subsection} aria-label={title}>
      <div className={styles.header}>
        {/* The title toggles too (as a larger target); the IconButton is the accessible control. */}
        <div className={isCollapsible ? styles.clickable : undefined} onClick={isCollapsible ? toggle : undefined}>
          <Text element={kind === 'section' ? 'h3' : 'h6'}>{title}</Text>
        </div>
        {isCollapsible && (
          <IconButton
            name={open ? 'angle-up' : 'angle-down'}
            size="xl"
            type="button"
            aria-expanded={open}
            aria-label={`${open ? 'Collapse' : 'Expand'} section ${title}`}
            onClick={toggle}
          />
        )}
      </div>
      {description && (
        <div className={styles.description}>
          <Text variant="bodySmall" color="secondary">
            {description}
          </Text>
        </div>
      )}
      {isCollapsible && !open && summary && (
        <div className={styles.summary} data-testid={`summary ${title}`}>
          <Text variant="bodySmall" color="primary">
            {summary}
          </Text>
        </div>
      )}
      {open && <div className={styles.content}>{children}</div>}
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  section: css({ maxWidth: 720 }),
  subsection: css({ maxWidth: 720, marginBottom: theme.spacing(3) }),
  header: css({ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }),
  clickable: css({ cursor: 'pointer', flexGrow: 1 }),
  description: css({ marginTop: theme.spacing(0.5) }),
  summary: css({ marginTop: theme.spacing(0.5) }),
  content: css({ marginTop: theme.spacing(2) }),
});
