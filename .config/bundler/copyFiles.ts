import { getPluginJson, hasReadme } from './utils';

const pluginJson = getPluginJson();
const logoPaths: string[] = Array.from(
  new Set<string>([pluginJson.info?.logos?.large, pluginJson.info?.logos?.small])
).filter(Boolean);
const screenshotPaths: string[] = pluginJson.info?.screenshots?.map((s: { path: string }) => s.path) || [];

// Paths are relative to webpack's context (src/). README, LICENSE and CHANGELOG are optional so that a
// fresh checkout without them still builds.
export const copyFilePatterns = [
  { from: hasReadme() ? 'README.md' : '../README.md', to: '.', force: true, noErrorOnMissing: true },
  { from: 'plugin.json', to: '.' },
  { from: '../LICENSE', to: '.', noErrorOnMissing: true },
  { from: '../CHANGELOG.md', to: '.', force: true, noErrorOnMissing: true },
  { from: '**/*.json', to: '.', globOptions: { ignore: ['**/__fixtures__/**', '**/testdata/**'] } },
  { from: '**/query_help.md', to: '.', noErrorOnMissing: true },
  ...logoPaths.map((logoPath) => ({ from: logoPath, to: logoPath })),
  ...screenshotPaths.map((screenshotPath) => ({ from: screenshotPath, to: screenshotPath })),
];
