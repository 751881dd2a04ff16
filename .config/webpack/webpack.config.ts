/*
 * Modelled on the webpack config @grafana/create-plugin 7 scaffolds for a backend data source.
 * Extend it in a root webpack.config.ts (merge with webpack-merge) rather than editing it for one-off needs.
 */
import CopyWebpackPlugin from 'copy-webpack-plugin';
import ESLintPlugin from 'eslint-webpack-plugin';
import ForkTsCheckerWebpackPlugin from 'fork-ts-checker-webpack-plugin';
import path from 'path';
import ReplaceInFileWebpackPlugin from 'replace-in-file-webpack-plugin';
import TerserPlugin from 'terser-webpack-plugin';
import { SubresourceIntegrityPlugin } from 'webpack-subresource-integrity';
import webpack, { type Configuration } from 'webpack';
import VirtualModulesPlugin from 'webpack-virtual-modules';

import { BuildModeWebpackPlugin } from './BuildModeWebpackPlugin';
import { DIST_DIR, SOURCE_DIR } from '../bundler/constants';
import { getCPConfigVersion, getEntries, getPackageJson, getPluginJson } from '../bundler/utils';
import { externals } from '../bundler/externals';
import { copyFilePatterns } from '../bundler/copyFiles';

const pluginJson = getPluginJson();
const cpVersion = getCPConfigVersion();
const pluginVersion: string = getPackageJson().version;

// Grafana loads module.js through its AMD-aware loader and passes the module's own URL as the "module"
// dependency: chunks and assets are then fetched relative to wherever Grafana serves the plugin.
const virtualPublicPath = new VirtualModulesPlugin({
  'node_modules/grafana-public-path.js': `
import amdMetaModule from 'amd-module';

__webpack_public_path__ =
  amdMetaModule && amdMetaModule.uri
    ? amdMetaModule.uri.slice(0, amdMetaModule.uri.lastIndexOf('/') + 1)
    : 'public/plugins/${pluginJson.id}/';
`,
});

export type Env = {
  [key: string]: true | string | Env;
};

const config = async (env: Env): Promise<Configuration> => {
  const production = Boolean(env.production);
  const baseConfig: Configuration = {
    cache: {
      type: 'filesystem',
      buildDependencies: {
        config: [path.resolve(process.cwd(), '.config', 'webpack', 'webpack.config.ts')],
      },
    },

    context: path.join(process.cwd(), SOURCE_DIR),

    devtool: production ? 'source-map' : 'eval-source-map',

    entry: await getEntries(),

    externals,

    mode: production ? 'production' : 'development',

    module: {
      rules: [
        // This must come first in the rules array otherwise it breaks sourcemaps.
        {
          test: /src\/(?:.*\/)?module\.tsx?$/,
          use: [{ loader: 'imports-loader', options: { imports: 'side-effects grafana-public-path' } }],
        },
        {
          exclude: /(node_modules)/,
          test: /\.[tj]sx?$/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                baseUrl: path.resolve(process.cwd(), SOURCE_DIR),
                target: 'es2015',
                loose: false,
                parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
              },
            },
          },
        },
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        {
          test: /\.(png|jpe?g|gif|svg)$/,
          type: 'asset/resource',
          generator: { filename: production ? '[hash][ext]' : '[file]' },
        },
        {
          test: /\.(woff|woff2|eot|ttf|otf)(\?v=\d+\.\d+\.\d+)?$/,
          type: 'asset/resource',
          generator: { filename: production ? '[hash][ext]' : '[file]' },
        },
      ],
    },

    optimization: {
      minimize: production,
      minimizer: [
        new TerserPlugin({
          terserOptions: {
            format: {
              comments: (_, { type, value }) => type === 'comment2' && value.trim().startsWith('[create-plugin]'),
            },
            compress: { drop_console: ['log', 'info'] },
          },
        }),
      ],
    },

    output: {
      // Keep the Go binaries the backend build put in dist/.
      clean: { keep: new RegExp('(.*?_(amd64|arm(64)?)(.exe)?|go_plugin_build_manifest)') },
      filename: '[name].js',
      chunkFilename: production ? '[name].js?_cache=[contenthash]' : '[name].js',
      library: { type: 'amd' },
      path: path.resolve(process.cwd(), DIST_DIR),
      publicPath: `public/plugins/${pluginJson.id}/`,
      uniqueName: pluginJson.id,
      crossOriginLoading: 'anonymous',
    },

    plugins: [
      new BuildModeWebpackPlugin(),
      virtualPublicPath,
      new webpack.BannerPlugin({
        banner: `/* [create-plugin] version: ${cpVersion} */
/* [create-plugin] plugin: ${pluginJson.id}@${pluginVersion} */`,
        raw: true,
        entryOnly: true,
      }),
      new CopyWebpackPlugin({ patterns: copyFilePatterns }),
      new ReplaceInFileWebpackPlugin([
        {
          dir: DIST_DIR,
          test: [/(^|\/)plugin\.json$/, /(^|\/)README\.md$/],
          rules: [
            { search: /\%VERSION\%/g, replace: pluginVersion },
            { search: /\%TODAY\%/g, replace: new Date().toISOString().substring(0, 10) },
            { search: /\%PLUGIN_ID\%/g, replace: pluginJson.id },
          ],
        },
      ]),
      new SubresourceIntegrityPlugin({ hashFuncNames: ['sha256'] }),
      ...(env.development
        ? [
            new ForkTsCheckerWebpackPlugin({
              async: true,
              issue: { include: [{ file: '**/*.{ts,tsx}' }] },
              typescript: { configFile: path.join(process.cwd(), 'tsconfig.json') },
            }),
            new ESLintPlugin({ extensions: ['.ts', '.tsx'], lintDirtyModulesOnly: true }),
          ]
        : []),
    ],

    resolve: {
      extensions: ['.js', '.jsx', '.ts', '.tsx'],
      modules: [path.resolve(process.cwd(), SOURCE_DIR), 'node_modules'],
      unsafeCache: true,
    },
  };

  return baseConfig;
};

export default config;
