// Bundles the test page (shared Grafana packages + harness app) with esbuild into browser/.out/.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

// @grafana/scenes (browser/dashboard.jsx) needs two resolutions a bundler's strict ESM check refuses:
//  - @grafana/plugin-compat feature-detects runtime exports newer than 13.2.3 (typeof fn === 'function'), so it
//    gets @grafana/runtime as a CommonJS namespace, where a missing name is undefined instead of a build error;
//  - scenes imports react-router-dom's v6 API; Grafana 13 ships react-router-dom 5 with react-router-dom-v5-compat
//    (the v6 API), which scenes gets here.
const scenesCompat = {
  name: 'scenes-compat',
  setup(b) {
    b.onResolve({ filter: /^@grafana\/runtime(\/unstable)?$/ }, (args) =>
      args.importer.includes(`${path.sep}@grafana${path.sep}plugin-compat${path.sep}`)
        ? { path: args.path, namespace: 'runtime-cjs' }
        : undefined
    );
    b.onLoad({ filter: /.*/, namespace: 'runtime-cjs' }, async (args) => {
      // The same ESM file everything else imports (not the package's CommonJS build: one runtime, one set of
      // services such as setDataSourceSrv).
      const esm = await b.resolve(args.path, { kind: 'import-statement', resolveDir: root });
      return { contents: `module.exports = require(${JSON.stringify(esm.path)});`, resolveDir: root, loader: 'js' };
    });
    b.onResolve({ filter: /^react-router-dom$/ }, (args) =>
      args.importer.includes(`${path.sep}@grafana${path.sep}scenes${path.sep}`)
        ? b.resolve('react-router-dom-v5-compat', { kind: args.kind, resolveDir: root })
        : undefined
    );
  },
};

export async function buildHarness() {
  const started = Date.now();
  await build({
    entryPoints: { app: path.join(here, 'app.jsx') },
    outdir: path.join(here, '.out'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    sourcemap: 'linked',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"development"', global: 'window' },
    loader: {
      '.svg': 'file',
      '.png': 'file',
      '.woff': 'file',
      '.woff2': 'file',
      '.ttf': 'file',
      '.eot': 'file',
    },
    // Monaco is loaded lazily by Grafana itself; the editors under test do not use it.
    external: ['monaco-editor'],
    plugins: [scenesCompat],
  });
  return Date.now() - started;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ms = await buildHarness();
  console.log(`harness bundle built in ${ms} ms`);
}
