// Browser test of the drawing page's other modes (tools/web/index.html) against
// `hdr serve --corrections DIR`, in Debian's headless Chromium with real mouse strokes:
// - Number: 1, 7 and 0 written side by side on the wide canvas come back as "170", with a box per
//   digit drawn over the canvas where the digit is;
// - 28x28 grid: a pass of the pen brightens the cells under it and a second pass brightens them
//   more; Classify sends exactly the grid's 784 intensities (v / 255);
// - a correction ("it was a 7") for the grid's answer is stored in DIR as those very bytes.
//
//   node modes_test.mjs --hdr build/ci/hdr --model MODEL.hdr --out DIR [--data data/mnist]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  check, checks, densify, encodePng, launchChromium, mnistTestDigit, parseArgs, serverLog, SHAPES, startServer,
} from './harness.mjs';

const opts = parseArgs('modes_test');
const corrections = fs.mkdtempSync(path.join(os.tmpdir(), 'hdr-corrections-'));
const server = startServer(opts.hdr, opts.model, ['--corrections', corrections, '--device', 'cpu']);
const watchdog = setTimeout(() => {
  console.log('FAIL the whole test took longer than 120 s');
  server.child.kill('SIGKILL');
  process.exit(1);
}, 120_000);
let browser;

// Mouse strokes over an element, the points in fractions of its box.
async function draw(page, selector, strokes) {
  const box = await page.locator(selector).boundingBox();
  assert.ok(box && box.width > 100, `${selector} is not visible`);
  for (const stroke of strokes) {
    const pts = densify(stroke.map(([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height]));
    await page.mouse.move(...pts[0]);
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(...p, { steps: 2 });
    await page.mouse.up();
  }
}

// The answer to the request `action` sends to a URL holding `part`: [request, response body].
async function answerTo(page, part, action) {
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes(part), { timeout: 15_000 }), action()]);
  assert.equal(response.status(), 200, `${part}: HTTP ${response.status()} ${await response.text()}`);
  return [response.request(), await response.json()];
}

const gridPixels = (page) => page.evaluate(() => {
  const d = document.getElementById('grid').getContext('2d').getImageData(0, 0, 28, 28).data;
  return Array.from({ length: 784 }, (_, i) => d[4 * i]);
});

async function main() {
  const origin = await server.url;
  browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(origin + '/');
  await page.waitForFunction(() => /Model /.test(document.getElementById('footer').textContent));
  await page.uncheck('#live');

  await check('number: 1, 7 and 0 written on the wide canvas read "170", a box drawn over each digit', async () => {
    await page.click('#mode-number');
    const ratio = await page.locator('#canvas').evaluate((c) => c.getBoundingClientRect().width / c.getBoundingClientRect().height);
    assert.ok(Math.abs(ratio - 3) < 0.05, `the number canvas is ${ratio.toFixed(2)}:1, not 3:1`);
    const strokes = [1, 7, 0].flatMap((digit, k) => SHAPES[digit].map((s) => s.map(([x, y]) => [(k + x) / 3, y])));
    await draw(page, '#canvas', strokes);
    const [, body] = await answerTo(page, 'predict?number=1', () => page.click('#predict'));
    assert.equal(body.number, '170', JSON.stringify(body.digits.map((d) => [d.prediction, d.confidence])));
    await page.waitForFunction(() => document.getElementById('digit').textContent === '170');
    assert.equal(await page.locator('#digits button').count(), 3);
    const width = await page.locator('#boxes').evaluate((c) => c.width);
    body.digits.forEach((d, k) => {
      const centre = d.box.x + d.box.width / 2;
      assert.ok(centre > k * width / 3 && centre < (k + 1) * width / 3, `digit ${k}'s box is centred at ${centre} of ${width}`);
      assert.ok(typeof d.id === 'string', 'the server keeps corrections: each digit has an id');
    });
    const drawn = await page.evaluate((digits) => {
      const c = document.getElementById('boxes').getContext('2d');
      return digits.map((d) => c.getImageData(d.box.x, d.box.y + Math.floor(d.box.height / 2), 1, 1).data[3]);
    }, body.digits);
    assert.ok(drawn.every((alpha) => alpha > 0), `a box edge is not drawn: alpha ${drawn}`);
    await page.screenshot({ path: path.join(opts.out, 'number.png') });
  });

  await check('number: an uploaded photo-like number (dark on white, 3x) reads "2104", its boxes drawn on the scaled image', async () => {
    await page.click('#clear');
    const digits = [2, 1, 0, 4].map((label) => mnistTestDigit(opts.data, label)), k = 3;
    const png = encodePng(28 * 4 * k, 28 * k, 0, (x, y) => {
      const d = digits[Math.floor(x / (28 * k))];
      return [255 - d[Math.floor(y / k) * 28 + Math.floor((x % (28 * k)) / k)]];
    });
    const [, body] = await answerTo(page, 'predict?number=1', () =>
      page.setInputFiles('#upload', { name: 'number.png', mimeType: 'image/png', buffer: png }));
    assert.equal(body.number, '2104');
    await page.waitForFunction(() => document.getElementById('digit').textContent === '2104');
    // The 336 x 84 upload is shown fitted into the 1680 x 560 canvas: scaled by 5, centred.
    const scale = 5, left = 0, top = (560 - 84 * scale) / 2;
    await page.waitForFunction(() => {
      const c = document.getElementById('boxes');
      return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v > 0);
    });
    const edges = await page.evaluate(([digits, scale, left, top]) => {
      const c = document.getElementById('boxes').getContext('2d');
      return digits.map((d) => c.getImageData(Math.round(left + d.box.x * scale), Math.round(top + (d.box.y + d.box.height / 2) * scale), 1, 1).data[3]);
    }, [body.digits, scale, left, top]);
    assert.ok(edges.every((alpha) => alpha > 0), `a box is not where its digit is shown: alpha ${edges}`);
  });

  await check('grid: each pass of the pen brightens the cells it crosses', async () => {
    await page.click('#mode-grid');
    assert.equal(await page.textContent('#predict'), 'Classify');
    assert.equal(await page.textContent('#clear'), 'Reset');
    await draw(page, '#grid', SHAPES[1]);
    const once = await gridPixels(page);
    await draw(page, '#grid', SHAPES[1]);
    const twice = await gridPixels(page);
    const inked = once.map((v, i) => i).filter((i) => once[i] > 0);
    assert.ok(inked.length >= 20 && inked.length < 200, `${inked.length} cells inked by one stroke`);
    assert.ok(inked.every((i) => twice[i] >= once[i]) && inked.some((i) => twice[i] > once[i] && once[i] < 255),
      'a second pass did not brighten the cells');
    return `${inked.length} cells`;
  });

  let answer;
  await check('grid: Classify sends exactly the 784 intensities of the grid, and the model reads a 1', async () => {
    const shown = await gridPixels(page);
    const [request, body] = await answerTo(page, '/infer', () => page.click('#predict'));
    const sent = JSON.parse(request.postData()).inputs[0];
    assert.deepEqual(sent.shape, [1, 1, 28, 28]);
    assert.deepEqual(sent.data.map((v) => Math.round(v * 255)), shown, 'the values sent are not the grid');
    assert.ok(sent.data.every((v, i) => v === shown[i] / 255), 'the values sent are not the grid bytes / 255');
    const p = body.outputs[0].data;
    const prediction = p.indexOf(Math.max(...p));
    await page.waitForFunction((d) => document.getElementById('digit').textContent === String(d), prediction);
    assert.equal(prediction, 1, `the grid's 1 was read as ${prediction}`);
    answer = { shown, id: body.parameters.ids[0] };
    await page.screenshot({ path: path.join(opts.out, 'grid.png') });
  });

  await check('correction: "it was a 7" stores the grid as the model saw it, with label 7', async () => {
    assert.ok(await page.locator('#correct').isVisible(), 'no correction row');
    const [request, body] = await answerTo(page, '/corrections', () => page.click('#correct-buttons button[data-label="7"]'));
    assert.deepEqual(JSON.parse(request.postData()), { id: answer.id, label: 7 });
    assert.equal(body.corrections, 1);
    await page.waitForFunction(() => /kept as a 7 \(1 correction/.test(document.getElementById('correct-status').textContent));
    const labels = fs.readFileSync(path.join(corrections, 'corrections-labels-idx1-ubyte'));
    const images = fs.readFileSync(path.join(corrections, 'corrections-images-idx3-ubyte'));
    assert.equal(labels.readUInt32BE(4), 1);
    assert.equal(labels[8], 7);
    assert.deepEqual(Array.from(images.subarray(16, 16 + 784)), answer.shown);
  });

  await check('Reset empties the grid; no JavaScript errors', async () => {
    await page.click('#clear');
    assert.ok((await gridPixels(page)).every((v) => v === 0));
    assert.ok(await page.locator('#correct').isHidden());
    assert.deepEqual(errors, []);
  });
  await browser.close();
  browser = null;
  server.child.kill('SIGTERM');
  await server.exited;
}

try {
  await main();
  clearTimeout(watchdog);
  fs.rmSync(corrections, { recursive: true, force: true });
  console.log(`modes_test: all ${checks.passed} checks passed; screenshots in ${opts.out}`);
} catch (err) {
  console.log(`modes_test: ${err.message}`);
  if (err.stack && !(err instanceof assert.AssertionError)) console.log(err.stack);
  console.log(`modes_test: ${checks.passed} checks passed before the failure; server log:\n${serverLog().split('\n').slice(-30).join('\n')}`);
  if (browser) await browser.close().catch(() => {});
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  process.exit(1);
}
