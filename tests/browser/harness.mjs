// What the browser tests share: their command line, Debian's headless Chromium, and checks
// printed one line each (the first failure ends the run).
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// `--key value` pairs: --hdr, --model and --out are required (the out folder is created),
// --data defaults to data/mnist. A bad argument prints the usage line and exits 2.
export function parseArgs(name, argv = process.argv.slice(2)) {
  const opts = { data: 'data/mnist' };
  const usage = (why) => {
    console.error(`${name}: ${why}\nusage: node ${name}.mjs --hdr HDR_BINARY --model MODEL.hdr --out DIR [--data MNIST_DIR]`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!['hdr', 'model', 'out', 'data'].includes(key) || argv[i + 1] === undefined) usage(`bad argument '${argv[i]}'`);
    opts[key] = argv[i + 1];
  }
  for (const k of ['hdr', 'model', 'out']) if (!opts[k]) usage(`--${k} is required`);
  fs.mkdirSync(opts.out, { recursive: true });
  return opts;
}

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// check(name, fn): runs fn, prints "ok   name (note)" with the note fn may return, or
// "FAIL name" and rethrows. checks.passed counts the checks that passed.
export const checks = { passed: 0 };
export async function check(name, fn) {
  let note;
  try {
    note = await fn();
  } catch (err) {
    console.log(`FAIL ${name}`);
    throw err;
  }
  checks.passed++;
  console.log(`ok   ${name}${note ? ` (${note})` : ''}`);
}

// ---- hdr serve MODEL --port 0 EXTRA... as a child: {child, exited, url} (url resolves once it
// listens). serverLog() holds the output of every server started, for a failure's report. ----
let log = '';
export const serverLog = () => log;
export function startServer(hdr, model, extra = []) {
  const child = spawn(hdr, ['serve', model, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server printed no "serve: listening on" line within 30 s')), 30_000);
    let ownLog = '';  // this server's output: the shared log holds every server's
    const onData = (chunk) => {
      log += chunk;
      ownLog += chunk;
      const m = /serve: listening on (http:\/\/[^\s]+)/.exec(ownLog);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(`cannot start ${hdr}: ${err.message}`)); });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`the server exited (code ${code}, signal ${signal}) before listening`)); });
  });
  return { child, exited, url };
}

// ---- Shapes, as polylines in fractions of the canvas (0..1). ----
export const SHAPES = {
  1: [[[0.53, 0.18], [0.50, 0.50], [0.47, 0.82]]],
  0: [Array.from({ length: 61 }, (_, i) => {   // an ellipse, closed with a little overlap
    const t = -Math.PI / 2 + (i / 56) * 2 * Math.PI;
    return [0.5 + 0.2 * Math.cos(t), 0.5 + 0.3 * Math.sin(t)];
  })],
  7: [[[0.28, 0.22], [0.72, 0.22], [0.60, 0.45], [0.46, 0.82]]],
};
// Points every `spacing` CSS pixels along a polyline in page coordinates.
export function densify(points, spacing = 4) {
  const out = [points[0]];
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1], [x1, y1] = points[i];
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / spacing));
    for (let s = 1; s <= n; s++) out.push([x0 + (x1 - x0) * s / n, y0 + (y1 - y0) * s / n]);
  }
  return out;
}

// ---- PNG from MNIST test images (8-bit grayscale, or gray + alpha), with node's zlib. ----
function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const b of buf) {
    c = (crc ^ b) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
// pixel(x, y) -> array of channel bytes; colorType 0 = gray, 4 = gray + alpha.
export function encodePng(width, height, colorType, pixel) {
  const channels = colorType === 4 ? 2 : 1;
  const raw = Buffer.alloc(height * (1 + width * channels));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      Buffer.from(pixel(x, y)).copy(raw, y * (1 + width * channels) + 1 + x * channels);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = colorType;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}
// The first MNIST test image with `label` in the folder `data`, as 28x28 bytes (white ink on black).
export function mnistTestDigit(data, label) {
  const images = path.join(data, 't10k-images-idx3-ubyte'), labels = path.join(data, 't10k-labels-idx1-ubyte');
  for (const f of [images, labels]) if (!fs.existsSync(f)) throw new Error(`${f} is missing (tools/fetch_mnist.sh ${data})`);
  const l = fs.readFileSync(labels), im = fs.readFileSync(images);
  const i = l.subarray(8).indexOf(label);
  return im.subarray(16 + i * 784, 16 + (i + 1) * 784);
}
