/*
 * Real-browser test of the BUILT plugin (npm run test:browser).
 *
 * Serves a test page on 127.0.0.1 that loads dist/module.js through an AMD loader with Grafana's shared
 * packages (browser/app.jsx), drives Debian's Chromium with playwright-core, types into the config, query and
 * annotation editors, and checks the options and queries they emit, and that the console stays clean.
 *
 * The dashboard pages (browser/dashboard.jsx) are a @grafana/scenes dashboard whose /api requests this server
 * forwards to internal/dshost, which answers them with the REAL plugin binary over go-plugin.
 *
 * Env: CHROMIUM_PATH (default /usr/bin/chromium), BROWSER_SCREENSHOTS=1 to keep PNGs in browser/.out/,
 * BROWSER_DOCS_SCREENSHOTS=1 to (re)write the README's screenshots in docs/, SHEEPDOG_PLUGIN_BINARY (default
 * dist/gpx_sheepdog_<os>_<arch>, as internal/harness finds it).
 */
import assert from 'node:assert/strict';
import { execSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { buildHarness } from './build.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = path.join(root, 'dist');
const out = path.join(here, '.out');
const icons = path.join(root, 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img', 'icons');

// Test what src/ says: (re)build when dist/module.js is missing or older than any source file.
function newestSourceMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}
const moduleJs = path.join(dist, 'module.js');
if (!fs.existsSync(moduleJs) || fs.statSync(moduleJs).mtimeMs < newestSourceMtime(path.join(root, 'src'))) {
  console.log('dist/module.js is missing or older than src/: running npm run build:frontend');
  execSync('npm run build:frontend', { cwd: root, stdio: 'inherit' });
}
const bundleMs = await buildHarness();
console.log(`harness bundle: ${bundleMs} ms`);

// internal/dshost: Grafana's /api for one Sheepdog data source, answered by the real plugin binary.
let started = Date.now();
const dshostBin = path.join(out, 'dshost');
execSync(`go build -o ${JSON.stringify(dshostBin)} ./internal/dshost`, { cwd: root, stdio: 'inherit' });
const dshost = spawn(dshostBin, [], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const dshostUrl = await new Promise((resolve, reject) => {
  let buf = '';
  dshost.on('exit', (code) => reject(new Error(`internal/dshost exited with ${code}`)));
  dshost.stdout.on('data', (chunk) => {
    buf += chunk;
    const m = /dshost listening on (http:\/\/\S+)/.exec(buf);
    if (m) {
      resolve(m[1]);
    }
  });
});
console.log(`dshost (go build + plugin start): ${Date.now() - started} ms`);
function proxy(req, res) {
  const target = new URL(req.url, dshostUrl);
  const upstream = http.request(target, { method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  upstream.on('error', (e) => res.writeHead(502).end(String(e)));
  req.pipe(upstream);
}
const dshostGet = async (p) => (await fetch(new URL(p, dshostUrl))).json();

const types = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.html': 'text/html',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};
function serveFile(res, file) {
  if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
}
const inside = (base, rel) => {
  const p = path.resolve(base, '.' + path.sep + rel);
  return p.startsWith(base + path.sep) ? p : undefined;
};
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const p = decodeURIComponent(url.pathname);
  if (p === '/' || p === '/index.html') {
    return serveFile(res, path.join(here, 'index.html'));
  }
  if (p.startsWith('/dist/')) {
    return serveFile(res, inside(dist, p.slice('/dist/'.length)));
  }
  if (p.startsWith('/api/') || p.startsWith('/_dshost/')) {
    return proxy(req, res);
  }
  if (p.startsWith('/out/')) {
    return serveFile(res, inside(out, p.slice('/out/'.length)));
  }
  if (p.startsWith('/public/build/img/icons/')) {
    const file = inside(icons, p.slice('/public/build/img/icons/'.length));
    if (file && fs.existsSync(file)) {
      return serveFile(res, file);
    }
    // Grafana serves a few more icons than @grafana/ui ships (e.g. unicons/spinner.svg): answer with a blank one.
    res.writeHead(200, { 'content-type': 'image/svg+xml' });
    return res.end('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"></svg>');
  }
  if (p.startsWith('/public/fonts/')) {
    // GlobalStyles' @font-face (Inter, Roboto Mono) points at Grafana's public/fonts, which no npm package ships:
    // an empty answer, so the browser falls back to the next family in the stack (a decode warning, no error).
    res.writeHead(200, { 'content-type': 'font/woff2' });
    return res.end();
  }
  res.writeHead(404).end('not found');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
});

const results = [];
async function withPage(name, pageName, fn) {
  if (process.env.BROWSER_ONLY && !new RegExp(process.env.BROWSER_ONLY).test(name)) {
    return;
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      problems.push(`console.error: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) =>
    problems.push(`page error: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`)
  );
  page.on('requestfailed', (r) => {
    // An icon fetch aborted because its component unmounted (a spinner replaced by content) is not a failure.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? '')) {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) {
      problems.push(`HTTP ${r.status()}: ${r.url()}`);
    }
  });
  const started = Date.now();
  try {
    await page.goto(`${base}/?page=${pageName}`);
    await page.waitForFunction(() => window.__harness && (window.__harness.ready || window.__harness.error), null, {
      timeout: 60000,
    });
    const error = await page.evaluate(() => window.__harness.error);
    assert.equal(error, undefined, `harness failed: ${error}`);
    await fn(page);
    await page.waitForTimeout(300); // let late effects log
    assert.deepEqual(problems, [], 'the console must stay clean');
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(e.message).split('\n').join('\n     ')}`);
    if (problems.length) {
      console.log(`     console: ${problems.join('\n              ')}`);
    }
  } finally {
    if (process.env.BROWSER_SCREENSHOTS) {
      await page
        .screenshot({ path: path.join(out, `${pageName.replace(/\W+/g, '-')}.png`), fullPage: true })
        .catch(() => {});
    }
    await context.close();
  }
}

const harness = (page, expr) => page.evaluate(expr);

try {
  await withPage('dist/module.js loads through the AMD loader and exports the plugin', 'none', async (page) => {
    const info = await harness(page, () => ({
      config: typeof window.__harness.plugin.components.ConfigEditor,
      query: typeof window.__harness.plugin.components.QueryEditor,
      anno: typeof window.__harness.datasource.annotations?.QueryEditor,
      defaults: window.__harness.datasource.getDefaultQuery('panel-editor'),
    }));
    assert.deepEqual(info, {
      config: 'function',
      query: 'function',
      anno: 'function',
      defaults: {
        source: { type: 'datasource' },
        detector: { method: 'auto', sensitivity: 50, direction: 'both', seasonality: 'auto' },
        outputs: ['bands', 'windows'],
      },
    });
  });

  await withPage('config editor: remote engine, secret key, numbers, allow-list', 'config', async (page) => {
    const cfg = page.getByTestId('config-page');
    await cfg.getByRole('radio', { name: 'Remote API' }).click();
    await cfg.getByLabel(/^API URL/).fill('ftp://nope');
    await cfg.getByLabel(/^API URL/).blur();
    await cfg.getByText(/must start with http/).waitFor();
    await cfg.getByLabel(/^API URL/).fill('http://sheepdog-api:8080');
    await cfg.getByLabel(/^API key/).fill('k-123-secret');
    await cfg.getByText('Resilience').click();
    await cfg.getByLabel(/^Retries/).fill('4');
    await cfg.getByLabel(/^Timeout/).fill('3 s');
    await cfg.getByLabel(/^Timeout/).blur();
    await cfg.getByText(/is not a duration/).waitFor();
    await cfg.getByLabel(/^Timeout/).fill('3s');
    await cfg.getByLabel(/^In-flight cap/).fill('16');

    // Allow-list: the MultiCombobox is fed by getDataSourceSrv().getList(); Sheepdog itself is not offered.
    await cfg.getByRole('combobox', { name: 'Allowed data sources' }).click();
    const options = page.getByRole('option');
    await options.first().waitFor();
    const labels = await options.allInnerTexts();
    assert.ok(
      labels.some((l) => l.includes('Test Prometheus')),
      `options: ${labels}`
    );
    assert.ok(!labels.some((l) => l.includes('Sheepdog')), `Sheepdog must not allow itself: ${labels}`);
    await page.getByRole('option', { name: /Test Prometheus/ }).click();
    await page.keyboard.press('Escape');

    // The bearer token configured before is shown as configured; reset clears it. Authentication shows once a
    // Prometheus URL is set.
    await cfg.getByPlaceholder('http://prometheus:9090').fill('http://prometheus:9090');
    await cfg.getByRole('radio', { name: 'Bearer token' }).click();
    await cfg.getByRole('button', { name: 'Reset' }).click();

    const o = await harness(page, () => window.__harness.options);
    assert.deepEqual(o.jsonData, {
      engine: 'remote',
      remoteUrl: 'http://sheepdog-api:8080',
      remoteRetries: 4,
      remoteTimeout: '3s',
      remoteMaxInFlight: 16,
      allowedDatasources: ['test-prom'],
      prometheusUrl: 'http://prometheus:9090',
      prometheusAuth: 'bearer',
    });
    assert.deepEqual(o.secureJsonData, { remoteApiKey: 'k-123-secret', prometheusToken: '' });
    assert.deepEqual(o.secureJsonFields, { prometheusToken: false });
  });

  await withPage(
    'query editor: defaults, picked data source with its own editor, detector, outputs',
    'query',
    async (page) => {
      const qe = page.getByTestId('query-page');
      await page.waitForFunction(() => window.__harness.query?.source?.type === 'datasource');
      await qe.getByText('Pick a data source').click({ force: true });
      const opts = await page.getByRole('option').allInnerTexts();
      assert.ok(
        opts.some((l) => l.includes('Test Prometheus')),
        `picker options: ${opts}`
      );
      assert.ok(
        !opts.some((l) => l.includes('Loki') || l.includes('Sheepdog')),
        `picker must follow the allow-list: ${opts}`
      );
      await page.getByRole('option', { name: /Test Prometheus/ }).click();
      const nested = qe.getByLabel('Test Prometheus expr');
      await nested.waitFor();
      assert.equal(await nested.inputValue(), 'up', "starts from the data source's default query");
      // The nested editor runs in its own data source's plugin context, not Sheepdog's (the host puts Sheepdog's
      // around the whole editor, as QueryEditorRow does): usePluginContext() in it reads Test Prometheus.
      assert.equal(await nested.getAttribute('data-context'), 'test-prom');
      await nested.fill('rate(http_requests_total{job="$job"}[$__interval])');

      await qe.getByText('Detector options').click(); // collapsed by default, like Prometheus's Options row
      await qe.getByLabel('Detection method').click();
      await page.getByRole('option', { name: /^Robust / }).click();
      await qe.getByRole('textbox', { name: 'Sensitivity' }).fill('70');
      await qe.getByRole('radio', { name: 'Up' }).click();
      await qe.getByRole('combobox', { name: 'Seasonality' }).click();
      await page.getByRole('option', { name: /Daily/ }).click();
      await qe.getByRole('textbox', { name: 'History' }).fill('3d');
      await qe.getByText('Score', { exact: true }).click();

      const q = await harness(page, () => window.__harness.query);
      assert.deepEqual(q, {
        refId: 'A',
        source: {
          type: 'datasource',
          datasource: { uid: 'test-prom', type: 'prometheus' },
          query: {
            expr: 'rate(http_requests_total{job="$job"}[$__interval])',
            range: true,
            refId: 'A',
            datasource: { uid: 'test-prom', type: 'prometheus' },
          },
        },
        detector: { method: 'robust', sensitivity: 70, direction: 'up', seasonality: 'daily', history: '3d' },
        outputs: ['bands', 'score', 'windows'],
      });

      // What the data source sends for that query: variables resolved inside the nested query.
      const sent = await harness(page, async () =>
        window.__harness.runQuery([window.__harness.query], { __interval: { text: '30s', value: '30s' } })
      );
      assert.equal(sent.length, 1);
      assert.match(sent[0].url, /^\/api\/ds\/query/);
      const body = sent[0].data.queries[0];
      assert.equal(body.source.query.expr, 'rate(http_requests_total{job="api"}[30s])');
      assert.deepEqual(body.datasource, { type: 'sheepdog-anomaly-datasource', uid: 'sheepdog' });
    }
  );

  await withPage('query editor: PromQL and inline CSV sources', 'query', async (page) => {
    const qe = page.getByTestId('query-page');
    await qe.getByRole('radio', { name: 'Prometheus URL' }).click();
    await qe.getByLabel('PromQL expression').fill('sum(rate(errors_total[5m]))');
    await qe.getByLabel('Legend format').fill('{{instance}}');
    let q = await harness(page, () => window.__harness.query);
    assert.deepEqual(q.source, {
      type: 'prometheus',
      expr: 'sum(rate(errors_total[5m]))',
      legendFormat: '{{instance}}',
    });
    await qe.getByRole('radio', { name: 'Inline CSV' }).click();
    await qe.getByRole('textbox', { name: 'Inline CSV' }).fill('timestamp,value\n2024-01-01 00:00:00,1\n');
    await qe.getByRole('textbox', { name: 'Inline CSV' }).blur();
    q = await harness(page, () => window.__harness);
    assert.deepEqual(q.query.source, { type: 'csv', csv: 'timestamp,value\n2024-01-01 00:00:00,1\n' });
    assert.ok(q.runs >= 1, 'leaving a field runs the query');
  });

  await withPage('annotation editor: same editor without outputs', 'annotation', async (page) => {
    const ae = page.getByTestId('annotation-page');
    await ae.getByLabel('PromQL expression').waitFor();
    assert.equal(await ae.getByRole('group', { name: 'Outputs' }).count(), 0);
    assert.equal(await ae.getByLabel('Alert frames').count(), 0);
    await ae.getByText('Detector options').click();
    await ae.getByRole('radio', { name: 'Down' }).click();
    const a = await harness(page, () => window.__harness.annotation);
    assert.deepEqual(a, { refId: 'Anno', source: { type: 'prometheus', expr: 'up' }, detector: { direction: 'down' } });
    const prepared = await harness(page, () =>
      window.__harness.datasource.annotations.prepareQuery({ target: window.__harness.annotation })
    );
    assert.deepEqual(prepared.outputs, ['windows']);
  });

  // ---- Issue 13: the editors as Grafana shows them (global styles, themes, narrow panes, provisioned, alerting) ---
  // One page per test; other themes/pages are reached with goto on the same page (a new context costs seconds).
  const goto = async (page, pageName) => {
    await page.goto(`${base}/?page=${pageName}`);
    await page.waitForFunction(() => window.__harness && (window.__harness.ready || window.__harness.error));
    assert.equal(await page.evaluate(() => window.__harness.error), undefined);
  };
  // Border boxes of every input, label and section heading on the page: what a layout shift would move.
  const boxes = (page, testId) =>
    page.getByTestId(testId).evaluate((root) =>
      Array.from(root.querySelectorAll('input, textarea, label, h3, h6, button')).map((el) => {
        const r = el.getBoundingClientRect();
        return `${el.tagName}#${el.id || el.getAttribute('aria-label') || el.textContent.slice(0, 20)} ${r.x},${r.y} ${r.width}x${r.height}`;
      })
    );

  await withPage(
    'config editor, provisioned (readOnly): every input, switch, radio, picker and button is disabled',
    'config&readOnly=1',
    async (page) => {
      const seen = [];
      for (const [theme, width] of [
        ['dark', 600],
        ['light', 1280],
      ]) {
        await page.setViewportSize({ width, height: 1400 });
        await goto(page, `config&readOnly=1&theme=${theme}`);
        const cfg = page.getByTestId('config-page');
        // Open every collapsed section: the toggles themselves stay usable (reading is allowed).
        const expand = cfg.getByRole('button', { name: /^Expand section/ });
        for (let n = 0; n < 20 && (await expand.count()) > 0; n++) {
          await expand.first().click();
        }
        assert.equal(await cfg.getByRole('button', { name: /^Expand section/ }).count(), 0);
        const controls = await cfg.evaluate((root) =>
          Array.from(root.querySelectorAll('input, textarea, select, button, [role=combobox], [role=switch]'))
            .filter((el) => !el.hasAttribute('aria-expanded') || !/section/.test(el.getAttribute('aria-label') ?? ''))
            .map((el) => ({
              what: `${el.tagName.toLowerCase()}[${el.type || el.getAttribute('role')}] ${
                el.getAttribute('aria-label') ||
                el.labels?.[0]?.textContent.trim().slice(0, 30) ||
                el.id ||
                el.textContent.trim().slice(0, 30)
              }`,
              disabled: el.disabled || el.getAttribute('aria-disabled') === 'true',
            }))
        );
        const enabled = controls.filter((c) => !c.disabled).map((c) => c.what);
        assert.deepEqual(enabled, [], `enabled in a provisioned data source (${theme}, ${width} px)`);
        // Every kind is there, so "nothing enabled" means something.
        const kinds = (re) => controls.filter((c) => re.test(c.what)).length;
        for (const [kind, re] of [
          ['text inputs', /^input\[text\]/],
          ['radios', /^input\[radio\]/],
          ['switches', /^input\[checkbox\]/],
          ['buttons', /^button/],
          ['pickers', /Allowed data sources/], // the allow-list MultiCombobox
        ]) {
          assert.ok(kinds(re) > 0, `no ${kind} on the page: ${controls.map((c) => c.what).join(', ')}`);
        }
        seen.push(`${theme} ${width}px: ${controls.length}`);
        // Typing does nothing.
        await cfg
          .getByLabel(/^API URL/)
          .fill('http://changed', { force: true, timeout: 1000 })
          .catch(() => {});
        assert.equal(
          await harness(page, () => window.__harness.options.jsonData.remoteUrl),
          'http://sheepdog-api:8080'
        );
      }
      console.log(`     disabled controls: ${seen.join('; ')}`);
    }
  );

  await withPage(
    "query editor: no horizontal overflow at 600 px (and 1280, 1600), every source, dark and light, under Grafana's GlobalStyles",
    'query',
    async (page) => {
      const widths = [];
      for (const theme of ['dark', 'light']) {
        await page.setViewportSize({ width: 600, height: 1400 });
        await goto(page, `query&theme=${theme}`);
        // The page is Grafana's: GlobalStyles (not the page) paints the body in the theme's canvas colour, in Inter.
        const got = await page.evaluate(() => {
          const probe = document.createElement('div');
          probe.style.color = window.__harness.theme.canvas;
          document.body.appendChild(probe);
          const want = getComputedStyle(probe).color;
          probe.remove();
          const body = getComputedStyle(document.body);
          return { mode: window.__harness.theme.mode, bg: body.backgroundColor, want, font: body.fontFamily };
        });
        assert.equal(got.mode, theme);
        assert.equal(got.bg, got.want, `body background in ${theme}`);
        assert.match(got.font, /Inter/);
        const qe = page.getByTestId('query-page');
        // getDataSourceSrv().getInstanceSettings(null) is the default data source, as in Grafana; the Data source
        // source's picker (noDefault) still asks to pick one instead of showing the default as picked.
        assert.equal(await harness(page, () => window.__harness.defaultDatasource()), 'test-prom');
        await qe.getByText('Pick a data source').waitFor();
        await qe.getByText('Detector options').click();
        for (const [vw, source] of [600, 1280, 1600].flatMap((w) =>
          ['Data source', 'Prometheus URL', 'Inline CSV'].map((src) => [w, src])
        )) {
          await page.setViewportSize({ width: vw, height: 1400 });
          await qe.getByRole('radio', { name: source }).click();
          await qe.getByRole('radio', { name: 'Anomaly fraction' }).waitFor();
          const m = await page.evaluate(() => {
            const ed = document.querySelector('[data-testid=sheepdog-query-editor]').getBoundingClientRect();
            let widest = 0;
            for (const el of document.querySelectorAll('[data-testid=sheepdog-query-editor] *')) {
              widest = Math.max(widest, el.getBoundingClientRect().right);
            }
            return {
              scroll: document.scrollingElement.scrollWidth,
              editor: Math.round(ed.width),
              right: Math.round(ed.right),
              widest: Math.round(widest),
            };
          });
          assert.ok(m.scroll <= vw, `${theme} ${vw} px ${source}: page scrolls sideways: ${JSON.stringify(m)}`);
          assert.ok(
            m.right <= vw && m.widest <= vw,
            `${theme} ${vw} px ${source}: editor overflows: ${JSON.stringify(m)}`
          );
          if (source === 'Inline CSV') {
            widths.push(`${theme} ${vw}: page ${m.scroll}, editor ${m.editor}, rightmost ${m.widest}`);
          }
        }
      }
      console.log(`     widths (px): ${widths.join('; ')}`);
    }
  );

  await withPage(
    'config editor: typing "3" on the way to "3s" in Backoff base moves nothing; the error shows after Tab',
    'config',
    async (page) => {
      await page.setViewportSize({ width: 600, height: 1400 });
      await goto(page, 'config');
      const cfg = page.getByTestId('config-page');
      await cfg.getByRole('radio', { name: 'Remote API' }).click();
      await cfg.getByText('Resilience').click();
      const field = cfg.getByLabel(/^Backoff base/);
      await field.click();
      const before = await boxes(page, 'config-page');
      await field.pressSequentially('3');
      const typing = await boxes(page, 'config-page');
      assert.deepEqual(
        typing.filter((b, i) => b !== before[i]),
        [],
        'nothing moved while typing "3"'
      );
      assert.equal(await cfg.getByText(/is not a duration/).count(), 0, 'no error while typing');
      await page.keyboard.press('Tab');
      await cfg.getByText(/is not a duration/).waitFor();
      await field.click();
      await field.pressSequentially('s');
      await page.keyboard.press('Tab');
      assert.equal(await cfg.getByText(/is not a duration/).count(), 0);
      assert.equal(await harness(page, () => window.__harness.options.jsonData.remoteBackoffBase), '3s');
      console.log(`     ${before.length} boxes compared, 0 moved`);
    }
  );

  await withPage(
    'query editor in an alert rule (app=unified-alerting): no Outputs, no Alert-frames switch',
    'query&app=unified-alerting',
    async (page) => {
      const qe = page.getByTestId('query-page');
      await qe.getByRole('radio', { name: 'Anomaly fraction' }).waitFor();
      assert.equal(await qe.getByRole('group', { name: 'Outputs' }).count(), 0);
      assert.equal(await qe.getByText('Outputs', { exact: true }).count(), 0);
      assert.equal(await qe.getByLabel('Alert frames').count(), 0);
      // The alerting options stay (a panel editor shows Outputs and the switch: the next test checks them).
      assert.equal(await qe.getByRole('radio', { name: 'Latest score' }).count(), 1);
    }
  );

  await withPage(
    'query editor: drafts kept across Source switches; clicking the Outputs label toggles nothing',
    'query',
    async (page) => {
      const qe = page.getByTestId('query-page');
      const promql = qe.getByLabel('PromQL expression');
      const csv = qe.getByRole('textbox', { name: 'Inline CSV' });
      await qe.getByRole('radio', { name: 'Prometheus URL' }).click();
      await promql.fill('sum(rate(errors_total[5m]))');
      await qe.getByRole('radio', { name: 'Inline CSV' }).click();
      await csv.fill('timestamp,value\n2024-01-01 00:00:00,1\n');
      await qe.getByRole('radio', { name: 'Prometheus URL' }).click();
      assert.equal(await promql.inputValue(), 'sum(rate(errors_total[5m]))');
      assert.deepEqual(await harness(page, () => window.__harness.query.source), {
        type: 'prometheus',
        expr: 'sum(rate(errors_total[5m]))',
      });
      await qe.getByRole('radio', { name: 'Inline CSV' }).click();
      assert.equal(await csv.inputValue(), 'timestamp,value\n2024-01-01 00:00:00,1\n');
      await qe.getByRole('radio', { name: 'Data source' }).click();
      await qe.getByText('Pick a data source').waitFor();
      await qe.getByRole('radio', { name: 'Inline CSV' }).click();
      assert.equal(await csv.inputValue(), 'timestamp,value\n2024-01-01 00:00:00,1\n');

      // The "Outputs" label: a click neither toggles a checkbox nor runs the query.
      const state = () =>
        harness(page, () => ({ outputs: window.__harness.query.outputs, runs: window.__harness.runs }));
      const checked = () =>
        qe
          .getByRole('group', { name: 'Outputs' })
          .getByRole('checkbox')
          .evaluateAll((l) => l.map((c) => c.checked));
      assert.equal(await qe.getByRole('group', { name: 'Outputs' }).count(), 1, 'a panel editor has Outputs');
      assert.equal(await qe.getByLabel('Alert frames').count(), 1, 'and the Alert-frames switch');
      const was = await state();
      const wasChecked = await checked();
      await qe
        .locator('label')
        .filter({ hasText: /^Outputs$/ })
        .click();
      await page.waitForTimeout(200);
      assert.deepEqual(await state(), was);
      assert.deepEqual(await checked(), wasChecked);
      // A checkbox's own label does toggle it (the test can tell a toggle).
      await qe.getByText('Score', { exact: true }).click();
      assert.deepEqual((await state()).outputs, ['bands', 'score', 'windows']);
    }
  );

  // ---- The Scenes dashboard against the real plugin binary ----------------------------------------------------
  const panelData = (page) =>
    harness(page, () => {
      const d = window.__harness.dashboard.runner.state.data;
      const frames = (list) =>
        (list ?? []).map((f) => ({
          name: f.name,
          length: f.length,
          fields: f.fields.map((x) => ({ name: x.name, type: x.type, custom: x.config?.custom ?? {} })),
          values: Object.fromEntries(f.fields.map((x) => [x.name, Array.from(x.values).slice(0, 50)])),
        }));
      return { state: d?.state, series: frames(d?.series), annotations: frames(d?.annotations), errors: d?.errors };
    });
  const waitPanel = (page) =>
    page.waitForFunction(
      () => {
        const d = window.__harness.dashboard?.runner.state.data;
        return d && d.state === 'Done' && d.series.length > 0 && (d.annotations ?? []).length > 0;
      },
      null,
      { timeout: 30000 }
    );

  await withPage(
    'dashboard (scenes): SceneQueryRunner → /api/ds/query → plugin binary: band frame, annotation layer regions, $sensitivity',
    'dashboard',
    async (page) => {
      await waitPanel(page);
      await page.getByTestId('timeseries-panel').locator('canvas').first().waitFor();
      const d = await panelData(page);
      assert.equal(d.state, 'Done', JSON.stringify(d.errors));
      // The band: one frame with value, expected, lower, upper; upper fills down to lower (custom.fillBelowTo,
      // read by @grafana/ui's TimeSeries preparePlotConfigBuilder to add a uPlot band).
      assert.equal(d.series.length, 1);
      const names = d.series[0].fields.map((f) => f.name);
      assert.deepEqual(names, ['time', 'value', 'value expected', 'value lower', 'value upper']);
      const upper = d.series[0].fields.find((f) => f.name === 'value upper');
      assert.equal(upper.custom.fillBelowTo, 'value lower');
      assert.ok(d.series[0].length >= 300, `points: ${d.series[0].length}`);

      // Annotations reach the panel through scenes' AnnotationsDataLayer (standard annotation support:
      // prepareAnnotation, prepareQuery, runRequest, processEvents) as regions: isRegion with an end after the
      // start, around the level shift at 07:10-07:25 in the CSV.
      const events = d.annotations.flatMap((f) =>
        Array.from({ length: f.length }, (_, i) => ({
          time: f.values.time?.[i],
          timeEnd: f.values.timeEnd?.[i],
          isRegion: f.values.isRegion?.[i],
          title: f.values.title?.[i],
        }))
      );
      assert.ok(events.length >= 1, `events: ${JSON.stringify(events)}`);
      const shift = events.find((e) => e.time >= Date.UTC(2024, 0, 1, 7, 0) && e.time <= Date.UTC(2024, 0, 1, 7, 30));
      assert.ok(shift, `an event at the level shift: ${JSON.stringify(events)}`);
      assert.equal(shift.isRegion, true, JSON.stringify(d.annotations.map((f) => f.fields)));
      assert.ok(shift.timeEnd > shift.time, `region end after start: ${JSON.stringify(shift)}`);
      // What the panel itself receives from VizPanel (applyFieldOverrides; annotations kept for a panel whose
      // plugin declares dataSupport.annotations, as Grafana's time-series panel does): the layer's events and the
      // panel query's own windows frame, each with isRegion.
      const inPanel = await harness(page, () =>
        (window.__panelData.annotations ?? []).map((f) => ({
          length: f.length,
          isRegion: Array.from(f.fields.find((x) => x.name === 'isRegion')?.values ?? []),
        }))
      );
      assert.equal(inPanel.length, 2, JSON.stringify(inPanel));
      for (const f of inPanel) {
        assert.ok(f.length >= 1 && f.isRegion.every((r) => r === true), JSON.stringify(inPanel));
      }
      assert.ok(Number(await page.getByTestId('timeseries-panel').getAttribute('data-annotations')) >= 2);

      // $sensitivity (a CustomVariable, value 50) is interpolated before the request: the backend gets a number,
      // for the panel query and for the annotation query.
      let seen = await dshostGet('/_dshost/requests');
      const byRef = (ref) => seen.filter((q) => q.refId === ref);
      assert.ok(byRef('A').length >= 1 && byRef('Anno').length >= 1, JSON.stringify(seen.map((q) => q.refId)));
      for (const q of seen) {
        assert.equal(q.detector.sensitivity, 50, `${q.refId}: ${JSON.stringify(q.detector)}`);
        assert.deepEqual(q.datasource, { type: 'sheepdog-anomaly-datasource', uid: 'sheepdog' });
      }
      // Changing the variable re-runs both with the new number.
      const before = seen.length;
      await harness(page, () => {
        const { sceneGraph } = window.__scenes;
        sceneGraph.lookupVariable('sensitivity', window.__harness.dashboard.scene).changeValueTo('80');
      });
      await page.waitForFunction(
        async (n) => (await (await fetch('/_dshost/requests')).json()).length >= n + 2,
        before,
        { timeout: 30000 }
      );
      seen = (await dshostGet('/_dshost/requests')).slice(before);
      assert.deepEqual(seen.map((q) => [q.refId, q.detector.sensitivity]).sort(), [
        ['A', 80],
        ['Anno', 80],
      ]);
    }
  );

  await withPage(
    'dashboard host: Save & test through /api/datasources/uid/…/health to the plugin binary',
    'dashboard',
    async (page) => {
      // DataSourceWithBackend.testDatasource → GET /api/datasources/uid/sheepdog/health → CheckHealth on the binary
      // (Grafana's pkg/api/datasources.go checkDatasourceHealth shapes the answer).
      const res = await harness(page, () => window.__harness.datasource.testDatasource());
      assert.equal(res.status, 'success', JSON.stringify(res));
      // A fresh data source (embedded engine, nothing allowed yet) passes, with the plugin's own message.
      const direct = await dshostGet('/api/datasources/uid/sheepdog/health');
      assert.equal(direct.status, 'OK');
      assert.ok(res.message && res.message === direct.message, `${res.message} vs ${direct.message}`);
    }
  );

  // Grafana's StandardAnnotationQueryEditor (public/app/features/annotations/components/
  // StandardAnnotationQueryEditor.tsx, verifyDataSource/componentDidUpdate): onChange(prepareAnnotation(a)) while
  // the result !== a, else run the query. A prepareAnnotation that returns a new object every time loops (React
  // stops it with "Maximum update depth exceeded", a page error) and the query never runs.
  const annotationStatus = (page) =>
    page
      .getByTestId('annotation-status')
      .filter({ hasText: /^\d+ events$/ })
      .waitFor({ timeout: 30000 });
  await withPage(
    'dashboard (scenes): the annotation editor, hosted as Grafana hosts it, settles, runs its query and re-runs on an edit',
    'dashboard',
    async (page) => {
      await annotationStatus(page);
      assert.equal(
        await harness(page, () => window.__harness.annotationChanges),
        0,
        'a current annotation is left as it is'
      );
      const ae = page.getByTestId('dashboard-annotation-editor');
      const before = (await dshostGet('/_dshost/requests')).length;
      await ae.getByText('Detector options').click();
      await ae.getByRole('radio', { name: 'Up' }).click();
      await page.waitForFunction(
        async (n) =>
          (await (await fetch('/_dshost/requests')).json())
            .slice(n)
            .some((q) => q.refId === 'Anno' && q.detector.direction === 'up'),
        before,
        { timeout: 30000 }
      );
      await annotationStatus(page);
      const sent = (await dshostGet('/_dshost/requests')).slice(before).filter((q) => q.refId === 'Anno');
      // The annotation query asks for windows only, with the variable interpolated.
      assert.deepEqual(sent.at(-1).outputs, ['windows']);
      assert.equal(sent.at(-1).detector.sensitivity, 50);
      assert.equal(await harness(page, () => window.__harness.annotationChanges), 1, 'one edit, one onChange');
    }
  );
  await withPage(
    'dashboard (scenes): a legacy annotation (query next to the annotation) is migrated once, then settles and runs',
    'dashboard&anno=legacy',
    async (page) => {
      await annotationStatus(page);
      const a = await harness(page, () => ({
        changes: window.__harness.annotationChanges,
        target: window.__harness.dashboardAnnotation.target,
        source: window.__harness.dashboardAnnotation.source,
      }));
      assert.equal(a.changes, 1, 'migrated by exactly one onChange');
      assert.equal(a.target?.source?.type, 'csv');
      assert.equal(a.source, undefined, 'query fields moved into the target');
    }
  );

  // The README's pictures (BROWSER_DOCS_SCREENSHOTS=1): the scenes dashboard and the three editors, dark and light.
  if (process.env.BROWSER_DOCS_SCREENSHOTS) {
    const docs = path.join(root, 'docs');
    for (const theme of ['dark', 'light']) {
      await withPage(`docs screenshots: dashboard and editors (${theme})`, `dashboard&theme=${theme}`, async (page) => {
        await waitPanel(page);
        await annotationStatus(page);
        await page.getByTestId('dashboard-query-editor').getByText('Detector options').click();
        await page.getByTestId('dashboard-annotation-editor').getByText('Detector options').click();
        await page.waitForTimeout(500);
        for (const [id, name] of [
          ['dashboard-scene', 'panel'],
          ['dashboard-query-editor', 'query-editor'],
          ['dashboard-annotation-editor', 'annotation-editor'],
        ]) {
          await page.getByTestId(id).screenshot({ path: path.join(docs, `screenshot-${name}-${theme}.png`) });
        }
      });
      await withPage(`docs screenshots: config editor (${theme})`, `config&theme=${theme}`, async (page) => {
        const cfg = page.getByTestId('config-page');
        await cfg.getByRole('radio', { name: 'Remote API' }).click();
        await cfg.getByLabel(/^API URL/).fill('http://sheepdog-api:8080');
        await cfg.getByLabel(/^API key/).fill('k-123-secret');
        await cfg.getByLabel(/^API key/).blur();
        await cfg.screenshot({ path: path.join(docs, `screenshot-config-editor-${theme}.png`) });
      });
    }
    // The query editor in Grafana's narrowest query pane: 600 px, nothing cut off, no sideways scrolling.
    await withPage('docs screenshots: query editor at 600 px', 'query', async (page) => {
      await page.setViewportSize({ width: 600, height: 900 });
      const qe = page.getByTestId('query-page');
      await qe.getByRole('radio', { name: 'Prometheus URL' }).click();
      await qe.getByLabel('PromQL expression').fill('sum by (instance) (rate(http_requests_total{job="api"}[5m]))');
      await qe.getByText('Detector options').click();
      await page.waitForTimeout(300);
      await page
        .getByTestId('sheepdog-query-editor')
        .screenshot({ path: path.join(docs, 'screenshot-query-editor-600.png') });
    });
  }
} finally {
  await browser.close();
  server.close();
  dshost.kill();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
