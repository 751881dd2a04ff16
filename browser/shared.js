/*
 * The packages Grafana shares with plugins at run time, bundled once for the test page.
 * Names match .config/bundler/externals.ts: the AMD loader on the page resolves module.js's dependencies here.
 */
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import * as i18next from 'i18next';
import jquery from 'jquery';
import lodash from 'lodash';
// eslint-disable-next-line no-restricted-imports -- Grafana shares moment with plugins; the page must too.
import moment from 'moment';
import * as react from 'react';
import * as reactDom from 'react-dom';
import * as jsxRuntime from 'react/jsx-runtime';
import * as reactRedux from 'react-redux';
import * as redux from 'redux';
import * as rxjs from 'rxjs';

export const shared = {
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUi,
  i18next,
  jquery,
  lodash,
  moment,
  react,
  'react-dom': reactDom,
  'react/jsx-runtime': jsxRuntime,
  'react-redux': reactRedux,
  redux,
  rxjs,
};

/** The info block of a plugin's meta, empty: what the page's plugins (the data sources, the time-series panel) need. */
export const emptyPluginInfo = () => ({
  author: { name: '' },
  description: '',
  links: [],
  logos: { small: '', large: '' },
  screenshots: [],
  updated: '',
  version: '',
});
