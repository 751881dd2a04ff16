// Bundles the test page (shared Grafana packages + harness app) with esbuild into browser/.out/.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

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
  });
  return Date.now() - started;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ms = await buildHarness();
  console.log(`harness bundle built in ${ms} ms`);
}
