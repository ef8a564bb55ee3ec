// The catalogue's op entries (engine/verify/backend_comparison.h): every op of the Backend interface
// at the networks' shapes and odd ones.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "engine/verify/backend_comparison.h"
#include "kernels/dropout.cuh"

namespace hdr::comparison {

// --- the library ops -------------------------------------------------------------------------

void gemm(BackendComparison& t, Rng& rng) {
  struct Case {
    int m, n, k;
    float alpha, beta;
  };
  // cnn_bn's dense layers at batch 64 (forward, and the shapes of both backward products), and odd sizes.
  const Case cases[] = {
      {64, 128, 1152, 1, 0}, {1152, 128, 64, 1, 0}, {64, 10, 128, 1, 0}, {3, 5, 13, 1, 0}, {13, 3, 5, 0.5f, 0.25f}};
  for (const Case& c : cases) {
    for (int trans = 0; trans < 4; ++trans) {
      const bool ta = trans & 2, tb = trans & 1;
      const float scale = 1.0f / std::sqrt(float(c.k));  // outputs of order 1, as in a network
      auto a = t.twin(rng.floats(size_t(c.m) * c.k, -1, 1));
      auto b = t.twin(rng.floats(size_t(c.k) * c.n, -scale, scale));
      auto out = t.twin(rng.floats(size_t(c.m) * c.n, -1, 1));
      t.both([&](Backend& be, Side s) {
        be.gemm({.trans_a = ta,
                 .trans_b = tb,
                 .m = c.m,
                 .n = c.n,
                 .k = c.k,
                 .alpha = c.alpha,
                 .a = a[s],
                 .b = b[s],
                 .beta = c.beta,
                 .c = out[s]});
      });
      t.check(fmt::format("gemm {}{} m={} n={} k={}{}", ta ? 'T' : 'N', tb ? 'T' : 'N', c.m, c.n, c.k,
                          c.beta != 0 ? fmt::format(" a={} b={}", c.alpha, c.beta) : ""),
              "C", out, kReduction);
    }
  }
}

void conv(BackendComparison& t, Rng& rng) {
  const auto geometry = [](int n, int c, int hw, int k, int kernel, int pad, int stride) {
    ConvGeometry g;
    g.n = n, g.c = c, g.h = g.w = hw, g.k = k, g.kh = g.kw = kernel, g.pad_h = g.pad_w = pad, g.stride = stride;
    return g;
  };
  // Seed 000's three convolutions at n = 8, cnn_best's strided 5x5 "same" convolution and its
  // 4x4 one down to 1x1, then odd shapes with padding and stride.
  const ConvGeometry cases[] = {geometry(8, 1, 28, 32, 3, 0, 1),  geometry(8, 32, 13, 64, 3, 0, 1),
                                geometry(8, 64, 5, 128, 3, 0, 1), geometry(8, 32, 24, 32, 5, 2, 2),
                                geometry(8, 64, 4, 128, 4, 0, 1), geometry(3, 5, 13, 7, 3, 1, 2),
                                geometry(3, 5, 13, 7, 5, 2, 1)};
  for (const ConvGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} {}x{} k={} {}x{} pad={} stride={}", g.n, g.c, g.h, g.w, g.k, g.kh,
                                         g.kw, g.pad_h, g.stride);
    const size_t xs = size_t(g.n) * g.c * g.h * g.w, ys = size_t(g.n) * g.k * g.out_h() * g.out_w();
    const size_t ws = size_t(g.k) * g.c * g.kh * g.kw;
    const float scale = 1.0f / std::sqrt(float(g.c * g.kh * g.kw));
    const ActivationDims xa{g.n, g.c, int64_t(g.h) * g.w}, ya{g.n, g.k, int64_t(g.out_h()) * g.out_w()};
    auto x = t.activation(rng.floats(xs, -1, 1), xa);
    auto w = t.twin(rng.floats(ws, -scale, scale));
    auto bias = t.twin(rng.floats(size_t(g.k), -0.5f, 0.5f));
    auto y = t.activation(std::vector<float>(ys), ya);
    t.both([&](Backend& be, Side s) { be.conv_forward({.g = g, .x = x[s], .w = w[s], .bias = bias[s], .y = y[s]}); });
    t.check("conv_forward " + name, "y", y, kReduction);
    t.both([&](Backend& be, Side s) { be.conv_forward({.g = g, .x = x[s], .w = w[s], .bias = nullptr, .y = y[s]}); });
    t.check("conv_forward (no bias) " + name, "y", y, kReduction);

    auto dy = t.activation(rng.floats(ys, -1, 1), ya);
    auto dx = t.activation(rng.floats(xs, -1, 1), xa);  // garbage: must be overwritten
    t.both([&](Backend& be, Side s) { be.conv_backward_data({.g = g, .w = w[s], .dy = dy[s], .dx = dx[s]}); });
    t.check("conv_backward_data " + name, "dx", dx, kReduction);

    auto dw = t.twin(rng.floats(ws, -1, 1));
    auto dbias = t.twin(rng.floats(size_t(g.k), -1, 1));
    t.both([&](Backend& be, Side s) {
      be.conv_backward_weights({.g = g, .x = x[s], .dy = dy[s], .dw = dw[s], .dbias = dbias[s]});
    });
    t.check("conv_backward_weights " + name, "dw", dw, kReduction);
    t.check("conv_backward_weights " + name, "dbias", dbias, kReduction);
  }
}

// --- the hand-written ops ----------------------------------------------------------------------

void augment(BackendComparison& t, Rng& rng) {
  const int count = 50, h = 28, w = 28, n = 37;
  auto images = t.twin(rng.bytes(size_t(count) * h * w, 256));
  auto labels = t.twin(rng.bytes(size_t(count), 10));
  std::vector<int32_t> rows(n);
  for (int32_t& r : rows) r = int32_t(rng.next() % count);
  auto indices = t.twin(rows);

  AugmentParams seed000;  // cnn_bn's augmentation, with MNIST's normalisation
  seed000.rotation_deg = 10, seed000.shift_x = 0.1f, seed000.shift_y = 0.1f, seed000.zoom = 0.1f;
  seed000.mean = 0.1307f, seed000.inv_std = 1.0f / 0.3081f;
  const RandomKey key{42, 3, kStreamAugment};
  for (const auto& [name, params] :
       {std::pair{"augment (scaling only)", AugmentParams{}}, std::pair{"augment (rotate, shift, zoom)", seed000}}) {
    auto out = t.twin(std::vector<float>(size_t(n) * h * w));
    t.both([&](Backend& be, Side s) {
      be.augment({.params = params,
                  .key = key,
                  .images = images[s],
                  .h = h,
                  .w = w,
                  .indices = indices[s],
                  .n = n,
                  .out = out[s]});
    });
    t.check(fmt::format("{} n={} {}x{}", name, n, h, w), "out", out, kResampling);
  }
  auto gathered = t.twin(std::vector<uint8_t>(size_t(n)));
  t.both([&](Backend& be, Side s) {
    be.gather_labels({.labels = labels[s], .indices = indices[s], .n = n, .out = gathered[s]});
  });
  t.check(fmt::format("gather_labels n={}", n), "labels", gathered, kExact);
}

// A batch norm's parameters and statistics on both backends, drawn as a trained layer's are.
struct BatchNormTwins {
  BatchNormTwins(BackendComparison& t, Rng& rng, size_t c)
      : gamma(t.twin(rng.floats(c, 0.5f, 1.5f))),
        beta(t.twin(rng.floats(c, -0.5f, 0.5f))),
        running_mean(t.twin(rng.floats(c, -0.1f, 0.1f))),
        running_var(t.twin(rng.floats(c, 0.5f, 1.5f))),
        save_mean(t.twin(std::vector<float>(c))),
        save_inv_std(t.twin(std::vector<float>(c))) {}
  Twin<float> gamma, beta, running_mean, running_var, save_mean, save_inv_std;
};

void batchnorm(BackendComparison& t, Rng& rng) {
  const auto geometry = [](int n, int c, int spatial, BnActivation a) {
    BatchNormGeometry g;
    g.n = n, g.c = c, g.spatial = spatial, g.activation = a;
    return g;
  };
  // cnn_bn's first (conv, ReLU before) and last (dense) batch norms, and an odd one.
  const BatchNormGeometry cases[] = {
      geometry(8, 32, 26 * 26, BnActivation::kReluBefore), geometry(64, 128, 1, BnActivation::kReluBefore),
      geometry(3, 5, 13 * 13, BnActivation::kReluAfter), geometry(3, 5, 13 * 13, BnActivation::kNone)};
  const char* const activation_names[] = {"none", "relu after", "relu before"};
  for (const BatchNormGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} spatial={} ({})", g.n, g.c, g.spatial,
                                         activation_names[int(g.activation)]);
    const size_t count = size_t(g.n) * g.c * g.spatial, c = size_t(g.c);
    const ActivationDims act{g.n, g.c, g.spatial};
    auto x = t.activation(rng.floats(count, -1, 3), act);  // mean far from 0, as after a ReLU
    BatchNormTwins bn(t, rng, c);
    auto& [gamma, beta, running_mean, running_var, save_mean, save_inv_std] = bn;
    auto y = t.activation(std::vector<float>(count), act);
    t.both([&](Backend& be, Side s) {
      be.bn_relu_forward_train({.g = g,
                                .layout = be.activation_layout(g.c, g.spatial),
                                .x = x[s],
                                .gamma = gamma[s],
                                .beta = beta[s],
                                .running_mean = running_mean[s],
                                .running_var = running_var[s],
                                .save_mean = save_mean[s],
                                .save_inv_std = save_inv_std[s],
                                .y = y[s]});
    });
    const std::string train = "bn_relu_forward_train " + name;
    t.check(train, "y", y, kReduction);
    t.check(train, "running_mean", running_mean, kReduction);
    t.check(train, "running_var", running_var, kReduction);
    t.check(train, "save_mean", save_mean, kReduction);
    t.check(train, "save_inv_std", save_inv_std, kReduction);

    t.both([&](Backend& be, Side s) {
      be.bn_relu_forward_infer({.g = g,
                                .layout = be.activation_layout(g.c, g.spatial),
                                .x = x[s],
                                .gamma = gamma[s],
                                .beta = beta[s],
                                .running_mean = running_mean[s],
                                .running_var = running_var[s],
                                .y = y[s]});
    });
    t.check("bn_relu_forward_infer " + name, "y", y, kReduction);

    auto dy = t.activation(rng.floats(count, -1, 1), act);
    auto dx = t.activation(std::vector<float>(count), act);
    auto dgamma = t.twin(rng.floats(c, -1, 1));  // garbage: written, not accumulated
    auto dbeta = t.twin(rng.floats(c, -1, 1));
    t.both([&](Backend& be, Side s) {
      be.bn_relu_backward({.g = g,
                           .layout = be.activation_layout(g.c, g.spatial),
                           .x = x[s],
                           .dy = dy[s],
                           .gamma = gamma[s],
                           .beta = beta[s],
                           .save_mean = save_mean[s],
                           .save_inv_std = save_inv_std[s],
                           .dx = dx[s],
                           .dgamma = dgamma[s],
                           .dbeta = dbeta[s]});
    });
    const std::string backward = "bn_relu_backward " + name;
    t.check(backward, "dx", dx, kReduction);
    t.check(backward, "dgamma", dgamma, kReduction);
    t.check(backward, "dbeta", dbeta, kReduction);
  }
}

// Synchronised batch norm's per-channel steps, as a rank runs them around the all-reduce (here a
// sum the entry makes up), and the input-gradient adjustment they feed: one conv and one dense
// layer of cnn_bn, and an odd one. Inputs as a slice's statistics and gradients would be.
void batchnorm_sync(BackendComparison& t, Rng& rng) {
  const auto geometry = [](int n, int c, int spatial, BnActivation a) {
    BatchNormGeometry g;
    g.n = n, g.c = c, g.spatial = spatial, g.activation = a;
    return g;
  };
  const BatchNormGeometry cases[] = {geometry(4, 32, 26 * 26, BnActivation::kReluBefore),
                                     geometry(32, 128, 1, BnActivation::kReluBefore),
                                     geometry(3, 5, 13 * 13, BnActivation::kNone)};
  for (const BatchNormGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} spatial={}", g.n, g.c, g.spatial);
    const size_t c = size_t(g.c);
    const double m = double(g.n) * g.spatial;
    auto mean = t.twin(rng.floats(c, -1, 3)), inv_std = t.twin(rng.floats(c, 0.5f, 4));
    auto dbeta = t.twin(rng.floats(c, -1, 1)), dgamma = t.twin(rng.floats(c, -1, 1));
    for (const BnSyncPack kind : {BnSyncPack::kStatistics, BnSyncPack::kGradients}) {
      const bool stats = kind == BnSyncPack::kStatistics;
      auto sums = t.twin(std::vector<double>(2 * c));
      t.both([&](Backend& be, Side s) {
        be.bn_sync_pack({.g = g,
                         .kind = kind,
                         .weight = stats ? m : 0.25,
                         .first = stats ? mean[s] : dbeta[s],
                         .second = stats ? inv_std[s] : dgamma[s],
                         .sums = sums[s]});
      });
      t.check(fmt::format("bn_sync_pack ({}) {}", stats ? "statistics" : "gradients", name), "sums", sums,
              kElementwise);
    }
    // Sums of three ranks of m values each, their statistics near this one's.
    std::vector<double> summed(2 * c);
    const std::vector<float> means = rng.floats(c, -1, 3), vars = rng.floats(c, 0.1f, 2);
    for (size_t k = 0; k < c; ++k)
      summed[k] = 3 * m * means[k], summed[c + k] = 3 * m * (double(vars[k]) + double(means[k]) * means[k]);
    auto sums = t.twin(summed);
    BatchNormTwins bn(t, rng, c);
    auto batch_var = t.twin(std::vector<float>(c));
    t.both([&](Backend& be, Side s) {
      be.bn_sync_combine({.g = g,
                          .total = 3 * m,
                          .sums = sums[s],
                          .running_mean = bn.running_mean[s],
                          .running_var = bn.running_var[s],
                          .save_mean = bn.save_mean[s],
                          .save_inv_std = bn.save_inv_std[s],
                          .batch_var = batch_var[s]});
    });
    const std::string combine = "bn_sync_combine " + name;
    t.check(combine, "running_mean", bn.running_mean, kElementwise);
    t.check(combine, "running_var", bn.running_var, kElementwise);
    t.check(combine, "save_mean", bn.save_mean, kElementwise);
    t.check(combine, "save_inv_std", bn.save_inv_std, kElementwise);
    t.check(combine, "batch_var", batch_var, kElementwise);

    auto ab = t.twin(std::vector<float>(2 * c));
    t.both([&](Backend& be, Side s) {
      be.bn_sync_adjust({.g = g,
                         .sums = sums[s],
                         .gamma = bn.gamma[s],
                         .inv_std = bn.save_inv_std[s],
                         .dbeta = dbeta[s],
                         .dgamma = dgamma[s],
                         .a = ab[s],
                         .b = ab[s] + c});
    });
    t.check("bn_sync_adjust " + name, "a and b", ab, kElementwise);

    const size_t count = size_t(g.n) * c * g.spatial;
    const ActivationDims act{g.n, g.c, g.spatial};
    auto x = t.activation(rng.floats(count, -1, 3), act), dx = t.activation(rng.floats(count, -1, 1), act);
    t.both([&](Backend& be, Side s) {
      be.bn_input_grad_adjust({.g = g,
                               .layout = be.activation_layout(g.c, g.spatial),
                               .x = x[s],
                               .mean = bn.save_mean[s],
                               .a = ab[s],
                               .b = ab[s] + c,
                               .dx = dx[s]});
    });
    t.check("bn_input_grad_adjust " + name, "dx", dx, kElementwise);
  }
}

// The conv block's batch norm + ReLU + max pooling, fused where each backend fuses it (the CUDA
// backend always, the CPU one on blocked layouts with non-overlapping windows): cnn_bn's first block,
// and an odd one with overlapping windows.
void batchnorm_pool(BackendComparison& t, Rng& rng) {
  struct Case {
    int n, c, hw, size, stride;
  };
  for (const Case& k : {Case{8, 32, 26, 2, 2}, Case{3, 5, 13, 3, 2}}) {
    BatchNormGeometry g;
    g.n = k.n, g.c = k.c, g.spatial = k.hw * k.hw, g.activation = BnActivation::kReluBefore;
    PoolGeometry p;
    p.n = k.n, p.c = k.c, p.h = p.w = k.hw, p.size = k.size, p.stride = k.stride;
    const std::string name = fmt::format("n={} c={} {}x{} pool {}/{}", k.n, k.c, k.hw, k.hw, k.size, k.stride);
    const size_t count = size_t(k.n) * k.c * k.hw * k.hw, c = size_t(k.c);
    const size_t outs = size_t(k.n) * k.c * size_t(p.out_h()) * size_t(p.out_w());
    const ActivationDims in{k.n, k.c, g.spatial}, out{k.n, k.c, int64_t(p.out_h()) * p.out_w()};
    auto x = t.activation(rng.floats(count, -1, 3), in);
    BatchNormTwins bn(t, rng, c);
    auto& [gamma, beta, running_mean, running_var, save_mean, save_inv_std] = bn;
    auto scratch = t.activation(std::vector<float>(count), in);
    auto y = t.activation(std::vector<float>(outs), out);
    auto argmax = t.twin(std::vector<int32_t>(outs));  // each backend's own layout: checked through backward
    auto x_max = t.twin(std::vector<float>(outs));     // the CPU's record for its backward
    t.both([&](Backend& be, Side s) {
      be.bn_relu_maxpool_forward_train({.bn = g,
                                        .pool = p,
                                        .layout = be.activation_layout(g.c, g.spatial),
                                        .x = x[s],
                                        .gamma = gamma[s],
                                        .beta = beta[s],
                                        .running_mean = running_mean[s],
                                        .running_var = running_var[s],
                                        .save_mean = save_mean[s],
                                        .save_inv_std = save_inv_std[s],
                                        .bn_out = scratch[s],
                                        .y = y[s],
                                        .argmax = argmax[s],
                                        .x_max = x_max[s]});
    });
    t.check("bn_relu_maxpool_forward_train " + name, "y", y, kReduction);
    t.check("bn_relu_maxpool_forward_train " + name, "save_mean", save_mean, kReduction);
    auto dy = t.activation(rng.floats(outs, -1, 1), out);
    auto dx = t.activation(std::vector<float>(count), in);
    auto dgamma = t.twin(rng.floats(c, -1, 1));
    auto dbeta = t.twin(rng.floats(c, -1, 1));
    const auto backward = [&](Backend& be, Side s) {
      return BnReluMaxpoolBackwardArgs{.bn = g,
                                       .pool = p,
                                       .layout = be.activation_layout(g.c, g.spatial),
                                       .x = x[s],
                                       .dy = dy[s],
                                       .argmax = argmax[s],
                                       .gamma = gamma[s],
                                       .beta = beta[s],
                                       .save_mean = save_mean[s],
                                       .save_inv_std = save_inv_std[s],
                                       .d_bn_out = scratch[s],
                                       .x_max = x_max[s],
                                       .dx = dx[s],
                                       .dgamma = dgamma[s],
                                       .dbeta = dbeta[s]};
    };
    t.both([&](Backend& be, Side s) { be.bn_relu_maxpool_backward(backward(be, s)); });
    t.check("bn_relu_maxpool_backward " + name, "dx", dx, kReduction);
    t.check("bn_relu_maxpool_backward " + name, "dgamma", dgamma, kReduction);
    t.check("bn_relu_maxpool_backward " + name, "dbeta", dbeta, kReduction);
    // The same backward continued into the weight gradient of a first layer making x from
    // one-channel images (3 x 3, no padding), the CPU's fused path where it takes the geometry.
    ConvGeometry conv;
    conv.n = k.n, conv.c = 1, conv.h = conv.w = k.hw + 2, conv.k = k.c, conv.kh = conv.kw = 3;
    auto images = t.twin(rng.floats(size_t(k.n) * conv.h * conv.w, 0, 1));
    auto dw = t.twin(std::vector<float>(size_t(k.c) * 9)), dbias = t.twin(std::vector<float>(c));
    t.both([&](Backend& be, Side s) {
      be.conv_bn_relu_maxpool_backward(
          {.block = backward(be, s), .conv = {.g = conv, .x = images[s], .dy = dx[s], .dw = dw[s], .dbias = dbias[s]}});
    });
    const std::string first = "conv_bn_relu_maxpool_backward " + name;
    t.check(first, "dw", dw, kReduction);
    t.check(first, "dbias", dbias, kReduction);
    t.check(first, "dgamma", dgamma, kReduction);
    t.check(first, "dbeta", dbeta, kReduction);
    const auto infer = [&](Backend& be, Side s) {
      return BnReluMaxpoolForwardInferArgs{.bn = g,
                                           .pool = p,
                                           .layout = be.activation_layout(g.c, g.spatial),
                                           .x = x[s],
                                           .gamma = gamma[s],
                                           .beta = beta[s],
                                           .running_mean = running_mean[s],
                                           .running_var = running_var[s],
                                           .bn_out = scratch[s],
                                           .y = y[s],
                                           .argmax = argmax[s]};
    };
    t.both([&](Backend& be, Side s) { be.bn_relu_maxpool_forward_infer(infer(be, s)); });
    t.check("bn_relu_maxpool_forward_infer " + name, "y", y, kReduction);
    // The same inference forward fed by that first layer's forward: on the CPU, one op where it
    // takes the geometry, x then left as it was.
    auto w = t.twin(rng.floats(size_t(k.c) * 9, -1, 1)), bias = t.twin(rng.floats(c, -1, 1));
    t.both([&](Backend& be, Side s) {
      be.conv_bn_relu_maxpool_forward_infer(
          {.conv = {.g = conv, .x = images[s], .w = w[s], .bias = bias[s], .y = x[s]}, .block = infer(be, s)});
    });
    t.check("conv_bn_relu_maxpool_forward_infer " + name, "y", y, kReduction);
  }
}

void relu_and_bias(BackendComparison& t, Rng& rng) {
  for (const int64_t count : {int64_t(8) * 32 * 26 * 26, int64_t(1001)}) {
    auto x = t.twin(rng.floats(size_t(count), -1, 1));
    auto y = t.twin(std::vector<float>(size_t(count)));
    auto dy = t.twin(rng.floats(size_t(count), -1, 1));
    auto dx = t.twin(std::vector<float>(size_t(count)));
    t.both([&](Backend& be, Side s) { be.relu_forward({.count = count, .x = x[s], .y = y[s]}); });
    t.check(fmt::format("relu_forward count={}", count), "y", y, kExact);
    t.both([&](Backend& be, Side s) { be.relu_backward({.count = count, .y = y[s], .dy = dy[s], .dx = dx[s]}); });
    t.check(fmt::format("relu_backward count={}", count), "dx", dx, kExact);
  }
  for (const auto& [rows, cols] : {std::pair{64, 128}, std::pair{3, 13}}) {
    const size_t count = size_t(rows) * cols;
    auto bias = t.twin(rng.floats(size_t(cols), -1, 1));
    auto y = t.twin(rng.floats(count, -1, 1));
    auto db = t.twin(rng.floats(size_t(cols), -1, 1));
    t.both([&](Backend& be, Side s) { be.bias_add({.rows = rows, .cols = cols, .bias = bias[s], .y = y[s]}); });
    t.check(fmt::format("bias_add rows={} cols={}", rows, cols), "y", y, kExact);
    t.both([&](Backend& be, Side s) { be.bias_grad({.rows = rows, .cols = cols, .dy = y[s], .db = db[s]}); });
    t.check(fmt::format("bias_grad rows={} cols={}", rows, cols), "db", db, kReduction);
  }
}

void dropout(BackendComparison& t, Rng& rng) {
  struct Case {
    float rate;
    int first_sample;
    ActivationDims a;
  };
  // After cnn_bn's first pooling, before its output layer, and odd.
  const Case cases[] = {{0.25f, 64, {8, 32, 13 * 13}}, {0.5f, 64, {8, 128, 1}}, {0.5f, 5, {3, 7, 11 * 13}}};
  for (const Case& c : cases) {
    const RandomKey key{42, 3, kStreamDropout + 3};
    const std::string name = fmt::format("rate={} first={} n={} c={} spatial={}", c.rate, c.first_sample, c.a.n, c.a.c,
                                         c.a.spatial);
    auto x = t.activation(rng.floats(c.a.size(), -1, 1), c.a);
    auto y = t.activation(std::vector<float>(c.a.size()), c.a);
    auto keep_bits = t.twin(std::vector<uint8_t>(size_t(dropout_keep_bytes(c.a.n, c.a.c * c.a.spatial))));
    t.both([&](Backend& be, Side s) {
      be.dropout_forward({.rate = c.rate,
                          .key = key,
                          .first_sample = c.first_sample,
                          .shape = activation_shape(be, c.a),
                          .x = x[s],
                          .y = y[s],
                          .keep_bits = keep_bits[s]});
    });
    t.check("dropout_forward " + name, "y", y, kElementwise);
    t.both([&](Backend& be, Side s) {
      be.dropout_backward({.rate = c.rate,
                           .key = key,
                           .first_sample = c.first_sample,
                           .shape = activation_shape(be, c.a),
                           .keep_bits = keep_bits[s],
                           .dy = x[s],
                           .dx = y[s]});
    });
    t.check("dropout_backward " + name, "dx", y, kElementwise);
  }
}

// Flatten: from each backend's activation layout to plain rows and back.
void flatten(BackendComparison& t, Rng& rng) {
  for (const ActivationDims a : {ActivationDims{8, 128, 3 * 3}, ActivationDims{3, 5, 13 * 13}}) {
    const std::string name = fmt::format("n={} c={} spatial={}", a.n, a.c, a.spatial);
    auto x = t.activation(rng.floats(a.size(), -1, 1), a);
    auto rows = t.twin(std::vector<float>(a.size()));
    t.both(
        [&](Backend& be, Side s) { be.flatten_forward({.shape = activation_shape(be, a), .x = x[s], .y = rows[s]}); });
    t.check("flatten_forward " + name, "rows", rows, kExact);
    auto dx = t.activation(std::vector<float>(a.size()), a);
    t.both([&](Backend& be, Side s) {
      be.flatten_backward({.shape = activation_shape(be, a), .dy = rows[s], .dx = dx[s]});
    });
    t.check("flatten_backward " + name, "dx", dx, kExact);
  }
}

void maxpool(BackendComparison& t, Rng& rng) {
  const auto geometry = [](int n, int c, int hw, int size, int stride) {
    PoolGeometry g;
    g.n = n, g.c = c, g.h = g.w = hw, g.size = size, g.stride = stride;
    return g;
  };
  const PoolGeometry cases[] = {geometry(8, 32, 26, 2, 2), geometry(3, 5, 13, 2, 2), geometry(3, 5, 13, 3, 2)};
  for (const PoolGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} {}x{} size={} stride={}", g.n, g.c, g.h, g.w, g.size, g.stride);
    const size_t xs = size_t(g.n) * g.c * g.h * g.w, ys = size_t(g.n) * g.c * g.out_h() * g.out_w();
    const ActivationDims xa{g.n, g.c, int64_t(g.h) * g.w}, ya{g.n, g.c, int64_t(g.out_h()) * g.out_w()};
    auto x = t.activation(rng.floats(xs, -1, 1), xa);
    auto y = t.activation(std::vector<float>(ys), ya);
    // argmax indexes x in each backend's own layout: it is checked through maxpool_backward.
    auto argmax = t.twin(std::vector<int32_t>(ys));
    t.both([&](Backend& be, Side s) {
      be.maxpool_forward(
          {.g = g, .layout = be.activation_layout(g.c, xa.spatial), .x = x[s], .y = y[s], .argmax = argmax[s]});
    });
    t.check("maxpool_forward " + name, "y", y, kExact);
    auto dy = t.activation(rng.floats(ys, -1, 1), ya);
    auto dx = t.activation(rng.floats(xs, -1, 1), xa);  // garbage: every element is written
    t.both([&](Backend& be, Side s) {
      be.maxpool_backward(
          {.g = g, .layout = be.activation_layout(g.c, xa.spatial), .dy = dy[s], .argmax = argmax[s], .dx = dx[s]});
    });
    t.check("maxpool_backward " + name, "dx", dx, kExact);
  }
}

void loss_and_metrics(BackendComparison& t, Rng& rng) {
  for (const auto& [n, classes, smoothing] :
       {std::tuple{64, 10, 0.0f}, std::tuple{3, 7, 0.0f}, std::tuple{64, 10, 0.1f}}) {
    const std::string name = fmt::format("n={} classes={} smoothing={}", n, classes, smoothing);
    const size_t count = size_t(n) * classes;
    auto logits = t.twin(rng.floats(count, -5, 5));
    auto labels = t.twin(rng.bytes(size_t(n), classes));
    auto dlogits = t.twin(std::vector<float>(count));
    auto metrics = t.twin(std::vector<double>{1.5, 2.0});  // accumulated into
    t.both([&](Backend& be, Side s) {
      be.softmax_xent({.n = n,
                       .classes = classes,
                       .logits = logits[s],
                       .labels = labels[s],
                       .smoothing = smoothing,
                       .dlogits = dlogits[s],
                       .metrics = metrics[s]});
    });
    t.check("softmax_xent " + name, "dlogits", dlogits, kTranscendental);
    const auto gpu = metrics.values(Side::kGpu), cpu = metrics.values(Side::kCpu);
    t.check_values("softmax_xent " + name, "loss sum", {float(gpu[0])}, {float(cpu[0])}, kTranscendental);
    t.check_values("softmax_xent " + name, "correct", {float(gpu[1])}, {float(cpu[1])}, kExact);

    auto probs = t.twin(std::vector<float>(count));
    t.both(
        [&](Backend& be, Side s) { be.softmax({.n = n, .classes = classes, .logits = logits[s], .probs = probs[s]}); });
    t.check("softmax " + name, "probs", probs, kTranscendental);

    std::vector<int64_t> start(size_t(classes) * classes);
    for (size_t i = 0; i < start.size(); ++i) start[i] = int64_t(i % 3);  // accumulated into
    auto confusion = t.twin(start);
    auto eval_metrics = t.twin(std::vector<double>{0.0, 0.0});
    t.both([&](Backend& be, Side s) {
      be.evaluate_batch({.n = n,
                         .classes = classes,
                         .logits = logits[s],
                         .labels = labels[s],
                         .confusion = confusion[s],
                         .metrics = eval_metrics[s]});
    });
    t.check("evaluate_batch " + name, "confusion", confusion, kExact);
    const auto egpu = eval_metrics.values(Side::kGpu), ecpu = eval_metrics.values(Side::kCpu);
    t.check_values("evaluate_batch " + name, "loss sum", {float(egpu[0])}, {float(ecpu[0])}, kTranscendental);
    t.check_values("evaluate_batch " + name, "correct", {float(egpu[1])}, {float(ecpu[1])}, kExact);
  }
}

void optimizer(BackendComparison& t, Rng& rng) {
  // Three segments: a kernel with L2 and decay, a bias, a second kernel; sizes not multiples of
  // any block size.
  const std::vector<ParamSegment> segments{{0, 1000, true, 5e-4f}, {1000, 37, false, 0.0f}, {1037, 501, true, 0.0f}};
  const size_t count = 1538;
  OptimizerParams adam, adamw, sgd;
  adamw.kind = OptimizerKind::kAdamW, adamw.weight_decay = 0.01f;
  sgd.kind = OptimizerKind::kSgd, sgd.nesterov = true;
  struct Case {
    const char* name;
    OptimizerParams p;
    int64_t step;
  };
  const Case cases[] = {
      {"adam step 1", adam, 1}, {"adam step 7", adam, 7}, {"adamw step 3", adamw, 3}, {"sgd nesterov step 2", sgd, 2}};
  for (const Case& c : cases) {
    auto params = t.twin(rng.floats(count, -1, 1));
    auto grads = t.twin(rng.floats(count, -0.1f, 0.1f));
    auto m = t.twin(rng.floats(count, -0.01f, 0.01f));
    auto v = t.twin(rng.floats(count, 0.0f, 1e-4f));
    t.both([&](Backend& be, Side s) {
      be.optimizer_update({.p = c.p,
                           .lr = 1e-3f,
                           .step = c.step,
                           .segments = segments.data(),
                           .num_segments = int(segments.size()),
                           .params = params[s],
                           .grads = grads[s],
                           .m = m[s],
                           .v = v[s]});
    });
    const std::string name = fmt::format("optimizer_update {} ({} values)", c.name, count);
    t.check(name, "params", params, kTranscendental);
    t.check(name, "m", m, kTranscendental);
    t.check(name, "v", v, kTranscendental);
  }
  auto average = t.twin(rng.floats(count, -1, 1));
  auto weights = t.twin(rng.floats(count, -1, 1));
  t.both([&](Backend& be, Side s) {
    be.weight_average({.count = int64_t(count), .decay = 0.999f, .params = weights[s], .average = average[s]});
  });
  t.check(fmt::format("weight_average ({} values)", count), "average", average, kTranscendental);
}
}  // namespace hdr::comparison
