import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { TextLink, useStyles2 } from '@grafana/ui';
import React from 'react';

const DOCS_URL = 'https://github.com/sheepdog-anomaly/sheepdog#readme';

/**
 * The opening lines Grafana's own config pages have (@grafana/plugin-ui DataSourceDescription: what to configure,
 * where the docs are, what the asterisk means).
 */
export function Description() {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.box}>
      <p className={styles.text}>
        Sheepdog finds anomalies in the series of your other data sources and draws expected bands around them. Choose
        where detection runs and which data sources it may read. Every setting is explained in the{' '}
        <TextLink href={DOCS_URL} external>
          Sheepdog documentation
        </TextLink>
        .
      </p>
      <p className={styles.text}>Fields marked with * are required.</p>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  box: css({ maxWidth: 720, marginBottom: theme.spacing(2) }),
  text: css({ ...theme.typography.body, color: theme.colors.text.secondary, marginBottom: theme.spacing(1) }),
});
