import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';

/*
 * Nothing here has a fixed minimum width and every row wraps, so the editor fits a 600 px query pane (Grafana's
 * narrowest panel editor) without horizontal scrolling.
 */
export const getStyles = (theme: GrafanaTheme2) => ({
  editor: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5), minWidth: 0, maxWidth: '100%' }),
  code: css({ fontFamily: theme.typography.fontFamilyMonospace, width: '100%', minWidth: 0 }),
  checkboxes: css({
    display: 'flex',
    gap: theme.spacing(1, 2),
    alignItems: 'center',
    flexWrap: 'wrap',
    minWidth: 0,
    flex: '1 1 0',
  }),
  nested: css({
    borderLeft: `2px solid ${theme.colors.border.medium}`,
    paddingLeft: theme.spacing(1),
    margin: theme.spacing(0.5, 0, 1, 0),
    minWidth: 0,
  }),
  summary: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    marginLeft: theme.spacing(1),
  }),
  help: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(2) }),
});
