// The report `hdr train` writes (report.html next to the model), opened from disk in Debian's
// headless Chromium: a screenshot is saved, every chart is there as inline SVG and is the very
// file written next to the page, the page fetches nothing, and its numbers match what
// `hdr eval MODEL --json` computes for the same checkpoint.
//
//   node report_test.mjs --hdr build/ci/hdr --model RUN_DIR/model.hdr --out DIR [--data data/mnist]
//
// One line per check; exits 1 at the first failed check, 0 when all pass.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, checks, launchChromium, parseArgs } from './harness.mjs';

const opts = parseArgs('report_test');
const runDir = path.dirname(path.resolve(opts.model));
const CHARTS = ['accuracy.svg', 'loss.svg', 'confusion.svg', 'samples.svg', 'mistakes.svg'];

let browser;
async function main() {
  let evaluation;
  await check('hdr eval MODEL --json prints JSON only', async () => {
    const stdout = execFileSync(opts.hdr, ['eval', opts.model, '--data', opts.data, '--device', 'cpu', '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    evaluation = JSON.parse(stdout);
    assert.equal(evaluation.count, 10000);
    return `accuracy ${(100 * evaluation.accuracy).toFixed(2)}%`;
  });

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests = [], errors = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(path.join(runDir, 'report.html')).href);

  await check('the page opens from disk, fetches nothing and logs no error', async () => {
    await page.waitForLoadState('load');
    assert.deepEqual(requests, []);
    assert.deepEqual(errors, []);
    await page.screenshot({ path: path.join(opts.out, 'report.png'), fullPage: true });
  });

  for (const file of CHARTS) {
    await check(`${file}: drawn in the page, and the same SVG as the file`, async () => {
      const figure = page.locator('figure', { has: page.locator('figcaption', { hasText: new RegExp(`^${file}$`) }) });
      assert.equal(await figure.count(), 1, `no figure captioned ${file}`);
      const svg = figure.locator('svg');
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 200 && box.height > 150, `${file} is ${JSON.stringify(box)} on screen`);
      const text = fs.readFileSync(path.join(runDir, file), 'utf8');
      const same = await svg.evaluate((inPage, fileText) => {
        const fromFile = new DOMParser().parseFromString(fileText, 'image/svg+xml').documentElement;
        const shape = (el) => [...el.querySelectorAll('*')].map((e) => e.tagName).join(',');
        return { count: inPage.querySelectorAll('*').length, tags: shape(inPage) === shape(fromFile),
                 text: inPage.textContent === fromFile.textContent };
      }, text);
      assert.ok(same.count > 20, `${file} has only ${same.count} elements`);
      assert.ok(same.tags && same.text, `${file} in the page differs from the file`);
      return `${same.count} elements`;
    });
  }

  await check('the learning rate has its own axis; best epoch is marked', async () => {
    const accuracy = await page.locator('figure', { hasText: 'accuracy.svg' }).locator('svg').textContent();
    assert.match(accuracy, /learning rate/);
    assert.match(accuracy, /best epoch \d+/);
  });

  await check('accuracy and loss in the page match hdr eval --json', async () => {
    assert.equal(await page.locator('#accuracy').textContent(), `${(100 * evaluation.accuracy).toFixed(2)}%`);
    assert.equal(await page.locator('#loss').textContent(), evaluation.loss.toFixed(4));
  });

  await check('the per-digit table matches hdr eval --json (precision, recall, F1, support, AUC)', async () => {
    const rows = await page.locator('#per-class tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      row: tr.dataset.row,
      ...Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.className, td.textContent])),
    })));
    const want = [...evaluation.classes.map((c) => ({ row: String(c.label), ...c })),
      { row: 'macro_avg', ...evaluation.macro_avg }, { row: 'weighted_avg', ...evaluation.weighted_avg }];
    assert.equal(rows.length, want.length);
    for (const [i, w] of want.entries()) {
      const r = rows[i];
      assert.equal(r.row, w.row);
      for (const key of ['precision', 'recall', 'f1']) assert.equal(r[key], w[key].toFixed(4), `${w.row} ${key}`);
      assert.equal(r.support, String(w.support), `${w.row} support`);
      if (w.auc != null) assert.equal(r.auc, w.auc.toFixed(4), `${w.row} auc`);
    }
    return `${rows.length} rows`;
  });

  await check('each of the 100 heat-map cells holds the count of hdr eval --json', async () => {
    const titles = await page.locator('figure', { hasText: 'confusion.svg' }).locator('svg title').allTextContents();
    const cells = new Map(titles.map((t) => /^true (\d), predicted (\d): (\d+) images/.exec(t))
      .filter(Boolean).map(([, t, p, n]) => [`${t},${p}`, Number(n)]));
    assert.equal(cells.size, 100);
    for (const [t, row] of evaluation.confusion.entries()) {
      for (const [p, n] of row.entries()) assert.equal(cells.get(`${t},${p}`), n, `cell true ${t}, predicted ${p}`);
    }
  });

  await check('every mistake shown is one (true label differs from the prediction)', async () => {
    const titles = await page.locator('#mistakes svg text').allTextContents();
    const arrows = titles.filter((t) => /true \d \u2192 \d/.test(t));
    assert.ok(arrows.length > 0, 'no labelled mistakes in the grid');
    for (const t of arrows) {
      const [, truth, predicted] = /true (\d) \u2192 (\d)/.exec(t);
      assert.notEqual(truth, predicted, t);
    }
    return `${arrows.length} mistakes`;
  });

  await browser.close();
  browser = null;
}

try {
  await main();
  console.log(`report_test: all ${checks.passed} checks passed; screenshot in ${opts.out}`);
} catch (err) {
  console.log(`report_test: ${err.message}`);
  if (err.stack && !(err instanceof assert.AssertionError)) console.log(err.stack);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
