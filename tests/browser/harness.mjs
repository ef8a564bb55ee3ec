// What the browser tests share: their command line, Debian's headless Chromium, and checks
// printed one line each (the first failure ends the run).
import fs from 'node:fs';
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
