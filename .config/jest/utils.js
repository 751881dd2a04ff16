// Used with Jest's transformIgnorePatterns to transform the ESM-only packages Grafana depends on.
const nodeModulesToTransform = (moduleNames) => `node_modules\/(?!.*(${moduleNames.join('|')})\/.*)`;

// Known nested Grafana dependencies that only ship an ESM build.
const grafanaESModules = [
  '.pnpm',
  '@grafana/schema',
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
