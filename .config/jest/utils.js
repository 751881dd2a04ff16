// Used with Jest's transformIgnorePatterns to transform the ESM-only packages Grafana depends on.
const nodeModulesToTransform = (moduleNames) => `node_modules\/(?!.*(${moduleNames.join('|')})\/.*)`;

// Known nested Grafana dependencies that only ship an ESM build.
const grafanaESModules = [
  '.pnpm',
  '@grafana/schema',
  '@react-hookz',
  '@ver0',
  '@tanstack',
  '@leeoniya',
  '@grafana/react-data-grid',
  'react-loading-skeleton',
  'compute-scroll-into-view',
  'd3-array',
  'd3-format',
  'd3-scale',
  'd3-time',
  'd3-time-format',
  'internmap',
  'marked-mangle',
  'throttle-debounce',
  'tinycolor2',
  '@wojtekmaj/date-utils',
  'd3',
  'd3-color',
  'd3-force',
  'd3-interpolate',
  'd3-scale-chromatic',
  'get-user-locale',
  'marked',
  'memoize',
  'mimic-function',
  'ol',
  'react-calendar',
  'react-colorful',
  'rxjs',
  'uuid',
];

module.exports = { nodeModulesToTransform, grafanaESModules };
