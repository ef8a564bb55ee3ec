// End-to-end test of the drawing page of `hdr serve` (tools/web/index.html) in Debian's headless
// Chromium, driven by Playwright: real mouse strokes on a desktop viewport, real touch input
// (CDP Input.dispatchTouchEvent) on a phone viewport, an upload through the file input, a drag
// and drop, and a blank canvas. The answers come from a real model, so the shapes drawn are
// plain, MNIST-like digits, and the uploaded images are MNIST test digits.
//
//   node page_test.mjs --hdr build/ci/hdr --model MODEL.hdr --out DIR [--data data/mnist]
//
// One line per check; exits 1 at the first failed check (with the server's log), 0 when all
// pass. Screenshots go to DIR.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  check, checks, densify, encodePng, launchChromium, mnistTestDigit, parseArgs, serverLog, SHAPES, startServer as startHdrServer,
} from './harness.mjs';

const TOTAL_TIMEOUT_MS = 180_000;
const opts = parseArgs('page_test');
const startServer = (extra = []) => startHdrServer(opts.hdr, opts.model, extra);

// A scan-like upload: dark ink on white paper, 4x larger than MNIST (nearest neighbour).
function scanPng(label) {
  const d = mnistTestDigit(opts.data, label), k = 4;
  return encodePng(28 * k, 28 * k, 0, (x, y) => [255 - d[Math.floor(y / k) * 28 + Math.floor(x / k)]]);
}
// A transparent PNG: black ink whose alpha is the ink, nothing behind it.
function transparentPng(label) {
  const d = mnistTestDigit(opts.data, label), k = 3;
  return encodePng(28 * k, 28 * k, 4, (x, y) => [0, d[Math.floor(y / k) * 28 + Math.floor(x / k)]]);
}

async function canvasBox(page) {
  const box = await page.locator('#canvas').boundingBox();
  assert.ok(box && box.width > 100, 'the canvas is not visible');
  return box;
}
const toPage = (box, [fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height];

async function mouseDraw(page, digit) {
  const box = await canvasBox(page);
  for (const stroke of SHAPES[digit]) {
    const pts = densify(stroke.map((p) => toPage(box, p)));
    await page.mouse.move(...pts[0]);
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(...p, { steps: 2 });
    await page.mouse.up();
  }
}
async function touchDraw(page, cdp, digit, box) {
  for (const stroke of SHAPES[digit]) await touchSwipe(cdp, densify(stroke.map((p) => toPage(box, p))));
}
async function touchSwipe(cdp, pts) {
  const touch = (type, [x, y]) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y, id: 1 }] });
  await touch('touchStart', pts[0]);
  for (const p of pts.slice(1)) await touch('touchMove', p);
  await touch('touchEnd', pts.at(-1));
}

// ---- Reading the page. ----
// window.scrollY once it has not changed for 300 ms (a touch swipe can leave a fling running).
async function scrollSettled(page) {
  let last = await page.evaluate(() => window.scrollY);
  for (let stable = 0, waited = 0; stable < 6; waited += 50) {
    assert.ok(waited < 5_000, 'the page kept scrolling for 5 s');
    await page.waitForTimeout(50);
    const y = await page.evaluate(() => window.scrollY);
    stable = y === last ? stable + 1 : 0;
    last = y;
  }
  return last;
}
// /predict requests of a page: how many are in flight, and those that finished, in order.
const isPredict = (r) => new URL(r.url()).pathname.endsWith('/predict');
function trackPredictions(page) {
  const t = { pending: 0, finished: [] };
  page.on('request', (r) => { if (isPredict(r)) t.pending++; });
  page.on('requestfinished', (r) => { if (isPredict(r)) { t.pending--; t.finished.push(r); } });
  page.on('requestfailed', (r) => { if (isPredict(r)) t.pending--; });
  page.predictions = t;
}

// The answer to the last /predict request that `action` causes. Drawing with live prediction
// on sends several (every 300 ms, then on pointerup): wait until none has been in flight for
// 200 ms, and take the last, which is the one for the finished drawing.
async function predictAfter(page, action) {
  const t = page.predictions, before = t.finished.length;
  await action();
  for (let quiet = 0, waited = 0; quiet < 4; waited += 50) {
    assert.ok(waited < 15_000, `no answer from /predict within 15 s (${t.finished.length - before} finished, ${t.pending} in flight)`);
    await page.waitForTimeout(50);
    quiet = t.finished.length > before && t.pending === 0 ? quiet + 1 : 0;
  }
  const response = await t.finished.at(-1).response();
  const body = await response.json();
  // The page renders after the fetch resolves: wait for the answer (or the error) to appear.
  if (response.ok()) {
    await page.waitForFunction((d) => document.getElementById('digit').textContent === String(d), body.prediction, { timeout: 5_000 });
  } else {
    await page.waitForFunction(() => document.getElementById('error').textContent !== '', null, { timeout: 5_000 });
  }
  return { status: response.status(), body, request: t.finished.at(-1) };
}

// The bars animate their width: measure them once the transitions have finished.
async function barsSettled(page) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: 5_000 });
}

// Everything the result panel shows, checked against the server's JSON.
async function checkResultMatches(page, body) {
  await barsSettled(page);
  const shown = await page.evaluate(() => ({
    digit: document.getElementById('digit').textContent,
    confidence: document.getElementById('confidence').textContent,
    top3: [...document.querySelectorAll('#top3 li')].map((li) => li.textContent),
    bars: [...document.querySelectorAll('#bars [data-digit]')].map((b) => ({
      digit: Number(b.dataset.digit),
      width: b.querySelector('.fill').getBoundingClientRect().width,
      style: b.querySelector('.fill').style.width,
      text: b.textContent,
    })),
    error: document.getElementById('error').textContent,
  }));
  assert.equal(shown.error, '', `an error is shown next to a result: ${shown.error}`);
  assert.equal(shown.digit, String(body.prediction));
  const confidence = parseFloat(/[\d.]+/.exec(shown.confidence)?.[0]);   // "99.87%", ">99.99%"
  assert.ok(Math.abs(confidence - 100 * body.confidence) < 0.1, `confidence shown ${shown.confidence}, server said ${body.confidence}`);
  assert.equal(shown.top3.length, 3, 'top-3 list');
  body.top.slice(0, 3).forEach(([d], i) => assert.ok(shown.top3[i].startsWith(`${d}`), `top-3 item ${i}: '${shown.top3[i]}', expected digit ${d}`));
  assert.deepEqual(shown.bars.map((b) => b.digit), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'ten bars, digits 0-9');
  shown.bars.forEach((b, d) => {
    assert.ok(Math.abs(parseFloat(b.style) - 100 * body.probabilities[d]) < 0.01, `bar ${d}: width ${b.style}, probability ${body.probabilities[d]}`);
    assert.ok(b.text.includes(`${d}`) && /%/.test(b.text), `bar ${d} is labelled with its digit and value: '${b.text}'`);
  });
  const widest = shown.bars.reduce((a, b) => (b.width > a.width ? b : a));
  assert.equal(widest.digit, body.prediction, 'the winning bar is the widest');
  assert.ok(widest.width > 0);
  // The 28x28 canvas holds exactly the server's preprocessed pixels.
  assert.equal(body.preprocessed?.length, 784, 'the page asks for ?preprocessed=1');
  const pixels = await page.evaluate(() => {
    const c = document.getElementById('preprocessed');
    const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
    return { w: c.width, h: c.height, rendering: getComputedStyle(c).imageRendering, gray: Array.from({ length: 784 }, (_, i) => d[4 * i]) };
  });
  assert.deepEqual([pixels.w, pixels.h], [28, 28]);
  assert.equal(pixels.rendering, 'pixelated');
  assert.ok(pixels.gray.filter((v) => v > 127).length >= 20, 'the preprocessed image is not blank');
  assert.deepEqual(pixels.gray, body.preprocessed, 'the preprocessed canvas shows the pixels the server sent');
}

async function expectDigit(page, drawn, body) {
  assert.equal(body.status, 'success');
  assert.equal(body.prediction, drawn, `drew a ${drawn}, the model answered ${body.prediction} (top: ${JSON.stringify(body.top)})`);
  await checkResultMatches(page, body);
  return `${drawn} at ${(100 * body.confidence).toFixed(2)}%`;
}

// Ink pixels (dark) of the canvas bitmap along a line, in fractions of the canvas.
async function inkAlong(page, from, to, samples) {
  return page.evaluate(([from, to, samples]) => {
    const c = document.getElementById('canvas'), ctx = c.getContext('2d');
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const out = [];
    for (let i = 0; i < samples; i++) {
      const t = samples === 1 ? 0 : i / (samples - 1);
      const x = Math.round((from[0] + (to[0] - from[0]) * t) * (c.width - 1));
      const y = Math.round((from[1] + (to[1] - from[1]) * t) * (c.height - 1));
      out.push(d[4 * (y * c.width + x)] < 128);
    }
    return out;
  }, [from, to, samples]);
}

async function clearPage(page) {
  await page.click('#clear');
  const state = await page.evaluate(() => {
    const c = document.getElementById('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 3] !== 255) dark++;
    return { dark, digit: document.getElementById('digit').textContent };
  });
  assert.equal(state.dark, 0, 'after Clear the canvas is opaque white');
  assert.ok(!/\d/.test(state.digit), `after Clear no digit is shown ('${state.digit}')`);
}

// ---- The run. ----
const server = startServer();
let browser;
const pageErrors = [];
const external = [];
const watchdog = setTimeout(() => {
  console.log(`FAIL the whole test took longer than ${TOTAL_TIMEOUT_MS / 1000} s`);
  server.child.kill('SIGKILL');
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

async function newPage(origin, contextOptions) {
  const context = await browser.newContext(contextOptions);
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) external.push(u);
  });
  const page = await context.newPage();
  trackPredictions(page);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => {
    // A 4xx answer is logged by Chromium as a failed resource; that is the API working.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) pageErrors.push(m.text());
  });
  await page.goto(origin + '/');
  return page;
}

async function main() {
  let origin;
  await check('hdr serve --port 0 prints the port it listens on', async () => {
    origin = await server.url;
    assert.match(origin, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  browser = await launchChromium();

  // -- Desktop, mouse. --
  const page = await newPage(origin, { viewport: { width: 1280, height: 800 } });
  await check('the page loads; the footer names the model from /health', async () => {
    for (const id of ['canvas', 'clear', 'predict', 'brush', 'upload', 'digit', 'confidence', 'top3', 'bars', 'preprocessed', 'error']) {
      assert.equal(await page.locator(`#${id}`).count(), 1, `#${id} is missing`);
    }
    const health = await (await page.request.get(origin + '/health')).json();
    await page.waitForFunction((m) => document.getElementById('footer').textContent.includes(m), health.model, { timeout: 5_000 });
    assert.equal(await page.locator('#canvas').evaluate((c) => getComputedStyle(c).touchAction), 'none');
  });

  await check('desktop: a mouse-drawn 1 is predicted while drawing (on pointerup), without pressing Predict', async () => {
    assert.ok(await page.locator('#hint').isVisible(), 'the empty canvas shows its hint');
    const { body } = await predictAfter(page, () => mouseDraw(page, 1));
    const note = await expectDigit(page, 1, body);
    assert.ok(!(await page.locator('#hint').isVisible()), 'the hint still covers the drawing');
    return note;
  });

  await check('desktop: Clear empties the canvas and the result', async () => {
    await clearPage(page);
    await barsSettled(page);
    const widths = await page.$$eval('#bars [data-digit] .fill', (fills) => fills.map((f) => f.getBoundingClientRect().width));
    assert.deepEqual(widths, Array(10).fill(0));
  });

  await page.uncheck('#live');   // from here on only the Predict button asks
  await check('desktop: a mouse-drawn 0, Predict button: digit, confidence, top-3, bars and the 28x28 input shown', async () => {
    await mouseDraw(page, 0);
    const { body, request: sent } = await predictAfter(page, () => page.click('#predict'));
    assert.equal(sent.headers()['content-type'], 'application/json');
    assert.match(JSON.parse(sent.postData()).image, /^data:image\/png;base64,/);
    assert.match(sent.url(), /\/predict\?preprocessed=1$/);
    return expectDigit(page, 0, body);
  });
  await page.screenshot({ path: path.join(opts.out, 'desktop.png') });

  await check('desktop: a mouse-drawn 7 after Clear', async () => {
    await clearPage(page);
    await mouseDraw(page, 7);
    const { body } = await predictAfter(page, () => page.click('#predict'));
    return expectDigit(page, 7, body);
  });

  await check('desktop: a fast stroke (one pointermove across the canvas) is drawn as a continuous line', async () => {
    await clearPage(page);
    const box = await canvasBox(page);
    await page.mouse.move(...toPage(box, [0.15, 0.5]));
    await page.mouse.down();
    await page.mouse.move(...toPage(box, [0.85, 0.5]), { steps: 1 });
    await page.mouse.up();
    const ink = await inkAlong(page, [0.15, 0.5], [0.85, 0.5], 50);
    assert.ok(ink.every(Boolean), `gaps along the stroke: ${ink.map((v) => (v ? '#' : '.')).join('')}`);
  });

  await check('desktop: the brush size slider sets the stroke width', async () => {
    const thickness = async (size) => {
      await clearPage(page);
      await page.locator('#brush').fill(String(size));
      const box = await canvasBox(page);
      await page.mouse.move(...toPage(box, [0.2, 0.5]));
      await page.mouse.down();
      await page.mouse.move(...toPage(box, [0.8, 0.5]), { steps: 10 });
      await page.mouse.up();
      return (await inkAlong(page, [0.5, 0.2], [0.5, 0.8], 169)).filter(Boolean).length;   // ~1 px per sample
    };
    assert.equal(await page.locator('#brush').inputValue(), '18', 'default brush');
    const thin = await thickness(8), thick = await thickness(32);
    assert.ok(thick / thin > 3 && thick / thin < 5, `stroke thickness ${thin} px at size 8, ${thick} px at size 32`);
    await page.locator('#brush').fill('18');
  });

  await check('desktop: a blank canvas + Predict shows "Draw a digit first", not a crash', async () => {
    await clearPage(page);
    const { status, body } = await predictAfter(page, () => page.click('#predict'));
    assert.equal(status, 400, `blank canvas: HTTP ${status} ${JSON.stringify(body)}`);
    assert.equal(body.status, 'error');
    assert.match(await page.textContent('#error'), /Draw a digit first/);
    assert.ok(await page.locator('#error').isVisible(), 'the error is visible');
    assert.ok(!/\d/.test(await page.textContent('#digit')), 'no digit shown with the error');
  });

  await check('desktop: an answer that arrives after Clear is ignored (stale response)', async () => {
    await page.check('#live');
    const held = [];   // answers held back until the canvas has been cleared
    await page.route('**/predict*', async (route) => {
      const response = await route.fetch();
      await new Promise((release) => held.push(release));
      await route.fulfill({ response });
    });
    const box = await canvasBox(page);
    await page.mouse.move(...toPage(box, [0.5, 0.2]));
    await page.mouse.down();
    await page.mouse.move(...toPage(box, [0.5, 0.8]), { steps: 20 });
    const answered = page.waitForResponse((r) => r.url().includes('/predict'), { timeout: 15_000 });
    await page.mouse.up();                             // live prediction sent, answer held back
    for (let i = 0; i < 100 && !held.length; i++) await page.waitForTimeout(50);
    assert.ok(held.length, 'no /predict request was sent on pointerup');
    await page.click('#clear');
    held.forEach((release) => release());
    await answered;
    await page.waitForTimeout(300);
    await page.unroute('**/predict*');
    assert.ok(!/\d/.test(await page.textContent('#digit')), `a stale answer was shown: ${await page.textContent('#digit')}`);
  });

  await check('desktop: predicts every ~300 ms while a stroke is still being drawn', async () => {
    await clearPage(page);
    const box = await canvasBox(page);
    let requests = 0;
    const count = (r) => { if (r.url().includes('/predict')) requests++; };
    page.on('request', count);
    const pts = densify(SHAPES[1][0].map((p) => toPage(box, p)), 8);
    await page.mouse.move(...pts[0]);
    await page.mouse.down();
    for (const p of pts.slice(1)) { await page.mouse.move(...p); await page.waitForTimeout(30); }   // ~1.5 s
    const during = requests;
    page.off('request', count);
    const { body } = await predictAfter(page, () => page.mouse.up());
    assert.ok(during >= 2, `${during} predictions were requested during a ${pts.length * 30} ms stroke`);
    return expectDigit(page, 1, body);
  });

  // -- Uploads. --
  await check('upload: a PNG (an MNIST test 2, dark on white) through #upload gives its digit and the chart', async () => {
    await clearPage(page);
    const file = path.join(opts.out, 'upload_2.png');
    fs.writeFileSync(file, scanPng(2));
    const { body, request: sent } = await predictAfter(page, () => page.setInputFiles('#upload', file));
    assert.match(sent.headers()['content-type'], /^multipart\/form-data; boundary=/);
    return expectDigit(page, 2, body);
  });
  await page.screenshot({ path: path.join(opts.out, 'upload.png') });

  await check('drag and drop: a transparent PNG (an MNIST test 4) dropped on the canvas', async () => {
    await clearPage(page);
    const bytes = [...transparentPng(4)];
    const dataTransfer = await page.evaluateHandle((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'four.png', { type: 'image/png' }));
      return dt;
    }, bytes);
    const { body } = await predictAfter(page, async () => {
      await page.dispatchEvent('#canvas', 'dragover', { dataTransfer });
      await page.dispatchEvent('#canvas', 'drop', { dataTransfer });
    });
    return expectDigit(page, 4, body);
  });

  // -- Phone, touch. --
  const phone = await newPage(origin, { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 3 });
  const cdp = await phone.context().newCDPSession(phone);
  await check('phone: no horizontal overflow, the canvas fits the width', async () => {
    const m = await phone.evaluate(() => {
      const r = document.getElementById('canvas').getBoundingClientRect();
      return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, left: r.left, right: r.right, width: r.width };
    });
    assert.ok(m.scrollWidth <= m.innerWidth, `page is ${m.scrollWidth} px wide in a ${m.innerWidth} px viewport`);
    assert.ok(m.left >= 0 && m.right <= m.innerWidth && m.width >= 250, `canvas spans ${m.left}..${m.right} px`);
  });

  await check('phone: a touch swipe outside the canvas scrolls the page (the touch input is real)', async () => {
    const scrollable = await phone.evaluate(() => document.documentElement.scrollHeight - window.innerHeight);
    assert.ok(scrollable > 50, `the page is only ${scrollable} px taller than the phone screen: nothing to scroll`);
    await touchSwipe(cdp, densify([[200, 700], [200, 450]], 10));
    await phone.waitForFunction(() => window.scrollY > 0, null, { timeout: 5_000 });
    await scrollSettled(phone);   // let the fling end before scrolling back
    await phone.evaluate(() => window.scrollTo(0, 0));
    assert.equal(await scrollSettled(phone), 0);
  });

  await check('phone: a 7 drawn with touch does not scroll the page and is predicted', async () => {
    const box = await canvasBox(phone);
    const before = await scrollSettled(phone);
    const { body } = await predictAfter(phone, () => touchDraw(phone, cdp, 7, box));
    await phone.waitForTimeout(200);   // any scroll the swipe started would have happened by now
    assert.equal(await phone.evaluate(() => window.scrollY), before, 'the page scrolled while drawing');
    const note = await expectDigit(phone, 7, body);
    assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'horizontal overflow after the result');
    return note;
  });

  await check('phone: a touch-drawn 1 (a vertical swipe on the canvas) does not scroll and is predicted', async () => {
    await clearPage(phone);
    await phone.evaluate(() => window.scrollTo(0, 40));   // room to scroll both ways
    assert.equal(await scrollSettled(phone), 40);
    const box = await canvasBox(phone);
    const { body } = await predictAfter(phone, () => touchDraw(phone, cdp, 1, box));
    await phone.waitForTimeout(200);
    assert.equal(await phone.evaluate(() => window.scrollY), 40, 'the page scrolled while drawing');
    return expectDigit(phone, 1, body);
  });
  await phone.evaluate(() => window.scrollTo(0, 0));
  await phone.screenshot({ path: path.join(opts.out, 'phone.png'), fullPage: true });

  // -- A server with --token: the page asks for the token once, then sends it. --
  const token = 'page-test-token-0123456789';
  fs.writeFileSync(path.join(opts.out, 'token.txt'), `${token}\n`);
  const guarded = startServer(['--token', path.join(opts.out, 'token.txt')]);
  try {
    const guardedOrigin = await guarded.url;
    await check('token: /predict without it is 401, /health and the page need none', async () => {
      const request = (await browser.newContext()).request;
      assert.equal((await request.post(guardedOrigin + '/predict', { data: { image: '' } })).status(), 401);
      assert.equal((await request.get(guardedOrigin + '/health')).status(), 200);
      assert.equal((await request.get(guardedOrigin + '/')).status(), 200);
    });
    const tokenPage = await newPage(guardedOrigin, { viewport: { width: 1280, height: 800 } });
    const prompts = [];
    tokenPage.on('dialog', (d) => { prompts.push(d.message()); d.accept(token); });
    await tokenPage.uncheck('#live');
    // The answer to the request that carried the token (the first one, without it, is a 401).
    const answerWithToken = async () => {
      const answered = tokenPage.waitForResponse((r) => r.url().includes('/predict') && r.status() !== 401, { timeout: 15_000 });
      await tokenPage.click('#predict');
      const response = await answered;
      assert.equal((await response.request().allHeaders())['authorization'], `Bearer ${token}`);
      const body = await response.json();
      assert.equal(response.status(), 200, JSON.stringify(body));
      await tokenPage.waitForFunction((d) => document.getElementById('digit').textContent === String(d), body.prediction, { timeout: 5_000 });
      return body;
    };
    await check('token: the page asks for it once, then a drawn 7 is predicted', async () => {
      await mouseDraw(tokenPage, 7);
      const note = await expectDigit(tokenPage, 7, await answerWithToken());
      await clearPage(tokenPage);
      await mouseDraw(tokenPage, 1);
      await expectDigit(tokenPage, 1, await answerWithToken());
      assert.deepEqual(prompts, ['This server needs a token:'], 'the page should ask exactly once');
      return note;
    });
    await tokenPage.close();
  } finally {
    guarded.child.kill('SIGTERM');
    await guarded.exited;
  }

  await check('no JavaScript errors, no request outside the server', async () => {
    assert.deepEqual(pageErrors, [], 'errors in the page');
    assert.deepEqual(external, [], 'requests to other origins');
  });

  await browser.close();
  browser = null;

  await check('the server exits 0 on SIGTERM', async () => {
    server.child.kill('SIGTERM');
    const timeout = new Promise((r) => setTimeout(() => r('timeout'), 10_000));
    const result = await Promise.race([server.exited, timeout]);
    assert.notEqual(result, 'timeout', 'the server did not exit within 10 s of SIGTERM');
    assert.deepEqual(result, { code: 0, signal: null });
  });
}

try {
  await main();
  clearTimeout(watchdog);
  console.log(`page_test: all ${checks.passed} checks passed; screenshots in ${opts.out}`);
} catch (err) {
  console.log(`page_test: ${err.message}`);
  if (err.stack && !(err instanceof assert.AssertionError)) console.log(err.stack);
  console.log(`page_test: ${checks.passed} checks passed before the failure; server log:\n${serverLog().split('\n').slice(-30).join('\n')}`);
  if (browser) await browser.close().catch(() => {});
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  process.exit(1);
}
