// Runs an ONNX model that `hdr export` wrote in ONNX Runtime (onnxruntime-node, CPU) on the images
// of an IDX file (MNIST's t10k-images-idx3-ubyte), and writes the output `probabilities` as
// little-endian float32, one row per image:
//   node tests/onnx/run_model.mjs MODEL.onnx IMAGES.idx OUT.f32
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [model, images, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node run_model.mjs MODEL.onnx IMAGES.idx OUT.f32');
  process.exit(2);
}
const idx = readFileSync(images);
if (idx.readUInt32BE(0) !== 0x803) throw new Error(`${images}: not an IDX file of unsigned bytes with 3 dimensions`);
const [n, rows, cols] = [idx.readUInt32BE(4), idx.readUInt32BE(8), idx.readUInt32BE(12)];
const pixels = idx.subarray(16, 16 + n * rows * cols);

const session = await ort.InferenceSession.create(model);
const batch = 1000;
const results = [];
for (let first = 0; first < n; first += batch) {
  const count = Math.min(batch, n - first);
  const x = new ort.Tensor('uint8', Uint8Array.from(pixels.subarray(first * rows * cols, (first + count) * rows * cols)),
                           [count, rows, cols]);
  const { probabilities } = await session.run({ image: x });
  results.push(Buffer.from(probabilities.data.buffer, probabilities.data.byteOffset, probabilities.data.byteLength));
}
writeFileSync(out, Buffer.concat(results));
