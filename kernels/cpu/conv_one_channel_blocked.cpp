// The convolution with one input channel (the first layer) whose output is blocked (blocked.h),
// forward and weight gradient: oneDNN 2.6 is slow at both on AVX2 (forward jit:avx2 at 44
// GFLOP/s; backward-weights gemm:jit at 4-9 GFLOP/s, 2 ms of cnn_bn's 15 ms step), while on
// AVX-512 its jit kernels are fast and the CPU backend keeps them, but for the inference forward
// into batch norm + pooling (forward_through), whose fusion saves more than they gain. Each position's kLanes output
// channels are vectors of lanes (kernels/cpu/lanes.h) and each input pixel a broadcast: one FMA
// per tap. Forward: one thread per (image, group of 16 channels), taps added in order; at
// inference, each group's output can go to batch norm + pooling while it is in the cache.
// Backward: the batch is cut into kChunks fixed slices whose partial sums are added in slice
// order, so the bits depend on the geometry alone, not on the threads.
#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

#include "kernels/cpu/blocked.h"
#include "kernels/cpu/lanes.h"

namespace hdr::cpu::blocked {
namespace {

// The vectors of output channels in blocks of kLanes: kWidth lanes each.
template <int kLanes>
struct OutputLanes {
  static constexpr int kWidth = block_vector_lanes(kLanes);
  using V = Lanes<kWidth>;
  using F = typename V::F;
};

constexpr int kChunks = 8;  // batch slices: work for up to groups x 8 threads

// x of image n with its zero border, (h + 2 pad_h) x (w + 2 pad_w).
void pad_plane(const ConvGeometry& g, const float* x, int n, std::vector<float>& plane) {
  const int padded_w = g.w + 2 * g.pad_w;
  plane.assign(size_t(g.h + 2 * g.pad_h) * padded_w, 0.0f);
  for (int r = 0; r < g.h; ++r)
    std::copy_n(x + (int64_t(n) * g.h + r) * g.w, g.w, plane.begin() + (r + g.pad_h) * padded_w + g.pad_w);
}

// The weight gradient takes kGroup output channels per task whatever the block width (two blocks
// of 8 on AVX2), so that each broadcast input pixel feeds kGroup / kWidth vectors: with one
// 8-lane vector per pixel it ran at half the speed.
constexpr int kGroup = 16;

// The output gradient of image n for the kGroup channels of `group`: where each vector of
// kWidth channels has its values at position 0, kLanes floats apart from one position to the
// next. This one reads dy; OneChannelConv::backward_weights_through's computes them.
template <int kLanes>
struct StoredGradient {
  static constexpr int kParts = kGroup / OutputLanes<kLanes>::kWidth;
  const ConvGeometry& g;
  const float* dy;
  std::array<const float*, kParts> operator()(int n, int group) const {
    const int64_t spatial = int64_t(g.out_h()) * g.out_w();
    std::array<const float*, kParts> d;
    for (int p = 0; p < kParts; ++p) {
      const int c = group * kGroup + p * OutputLanes<kLanes>::kWidth;
      d[p] = dy + (int64_t(n) * (g.k / kLanes) + c / kLanes) * spatial * kLanes + c % kLanes;
    }
    return d;
  }
};

// Sums of one (group of kGroup channels, batch slice) into acc (kh * kw taps x kGroup) and bias
// (kGroup), KW taps per kernel row in registers; gradient(n, group) gives each image's.
template <int kLanes, int KW, class Gradient>
void slice_sums(const ConvGeometry& g, int group, int first, int last, const float* x, Gradient& gradient, float* acc,
                float* bias) {
  using O = OutputLanes<kLanes>;
  using V = typename O::V;
  using F = typename O::F;
  constexpr int kWidth = O::kWidth, kParts = kGroup / kWidth;
  const int out_h = g.out_h(), out_w = g.out_w(), padded_w = g.w + 2 * g.pad_w;
  std::vector<float> plane;
  std::array<F, kParts> b = {};
  for (int n = first; n < last; ++n) {
    pad_plane(g, x, n, plane);
    const std::array<const float*, kParts> d = gradient(n, group);
    // Kernel rows top .. top + R - 1 in one sweep of the positions: R x kParts x KW chains
    // of dependent FMAs, each summing its tap over the positions in order as one row at a time
    // did (the same bits); with R = 1 the 6 chains of 3x3 left the FMA units waiting.
    const auto rows = [&](auto count, int top) {
      constexpr int R = decltype(count)::value;
      std::array<std::array<std::array<F, KW>, kParts>, R> a = {};
      for (int oh = 0; oh < out_h; ++oh) {
        const float* row = plane.data() + (oh + top) * padded_w;
        for (int ow = 0; ow < out_w; ++ow) {
          const int64_t at = (int64_t(oh) * out_w + ow) * kLanes;
          for (int p = 0; p < kParts; ++p) {
            const F dv = V::load(d[p] + at);
            for (int r = 0; r < R; ++r)
              for (int j = 0; j < KW; ++j) a[r][p][j] += row[r * padded_w + ow + j] * dv;
            if (top == 0) b[p] += dv;
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int p = 0; p < kParts; ++p)
          for (int j = 0; j < KW; ++j) {
            float* tap = acc + ((top + r) * KW + j) * kGroup + p * kWidth;
            V::store(tap, V::load(tap) + a[r][p][j]);
          }
    };
    constexpr int kRows = kParts * KW <= 6 ? 2 : 1;  // 12 accumulators fit AVX2's 16 registers
    int i = 0;
    for (; i + kRows <= g.kh; i += kRows) rows(std::integral_constant<int, kRows>{}, i);
    for (; i < g.kh; ++i) rows(std::integral_constant<int, 1>{}, i);
  }
  for (int p = 0; p < kParts; ++p) V::store(bias + p * kWidth, b[p]);
}

// Output positions the forward pass computes at once: kTile x kParts accumulators, so that each
// tap's weight vectors are loaded once for kTile positions and the FMA chains are independent
// (one position at a time, one chain of kh * kw dependent FMAs, ran at a third of this speed).
constexpr int kTile = 4;

// Image n's kGroup output channels of `group` from its padded plane, the group's taps (lanes) and
// bias (or null), into out: the group's kGroup / kLanes blocks one after the other, as in y.
template <int kLanes, int KW>
void group_forward(const ConvGeometry& g, const std::vector<float>& plane, const float* lanes, const float* bias,
                   int group, float* out) {
  using O = OutputLanes<kLanes>;
  using V = typename O::V;
  using F = typename O::F;
  constexpr int kWidth = O::kWidth, kParts = kGroup / kWidth;
  const int out_h = g.out_h(), out_w = g.out_w(), padded_w = g.w + 2 * g.pad_w;
  const int64_t spatial = int64_t(out_h) * out_w;
  std::array<float*, kParts> part_out;  // each vector's channels at position 0
  std::array<F, kParts> b;
  for (int p = 0; p < kParts; ++p) {
    const int c = p * kWidth;  // in the group
    part_out[p] = out + c / kLanes * spatial * kLanes + c % kLanes;
    b[p] = bias ? V::load(bias + group * kGroup + c) : F{};
  }
  // Positions ow .. ow + R - 1 of row oh, taps added in (i, j) order to the bias.
  const auto positions = [&](auto count, int oh, int ow) {
    constexpr int R = decltype(count)::value;
    std::array<std::array<F, kParts>, R> acc;
    for (int r = 0; r < R; ++r) acc[r] = b;
    for (int i = 0; i < g.kh; ++i) {
      const float* row = plane.data() + (oh + i) * padded_w + ow;
      for (int j = 0; j < KW; ++j) {
        std::array<F, kParts> tap;
        for (int p = 0; p < kParts; ++p) tap[p] = V::load(lanes + (i * KW + j) * kGroup + p * kWidth);
        for (int r = 0; r < R; ++r)
          for (int p = 0; p < kParts; ++p) acc[r][p] += row[r + j] * tap[p];
      }
    }
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < kParts; ++p) V::store(part_out[p] + (int64_t(oh) * out_w + ow + r) * kLanes, acc[r][p]);
  };
  for (int oh = 0; oh < out_h; ++oh) {
    int ow = 0;
    for (; ow + kTile <= out_w; ow += kTile) positions(std::integral_constant<int, kTile>{}, oh, ow);
    for (; ow < out_w; ++ow) positions(std::integral_constant<int, 1>{}, oh, ow);
  }
}

// One thread per (image, group), each group's output into make_sink()'s: per thread, a sink
// whose to(n, group) is where group_forward writes and whose done(n, group) follows it.
template <int kLanes, int KW, class MakeSink>
void forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, MakeSink&& make_sink) {
  const int groups = g.k / kGroup, taps = g.kh * KW;
  // oihw -> per group, kGroup lanes per tap
  std::vector<float> group_taps(size_t(g.k) * taps);
  for (int k = 0; k < g.k; ++k)
    for (int t = 0; t < taps; ++t)
      group_taps[size_t(((k / kGroup) * taps + t) * kGroup + k % kGroup)] = w[k * taps + t];
#pragma omp parallel
  {
    std::vector<float> plane;
    auto sink = make_sink();
#pragma omp for collapse(2) schedule(static)
    for (int n = 0; n < g.n; ++n)
      for (int group = 0; group < groups; ++group) {
        pad_plane(g, x, n, plane);
        group_forward<kLanes, KW>(g, plane, group_taps.data() + int64_t(group) * taps * kGroup, bias, group,
                                  sink.to(n, group));
        sink.done(n, group);
      }
  }
}

// The output written to y.
template <int kLanes>
struct StoredOutput {
  const ConvGeometry& g;
  float* y;
  float* to(int n, int group) const {
    constexpr int kBlocks = kGroup / kLanes;
    return y + (int64_t(n) * (g.k / kLanes) + group * kBlocks) * g.out_h() * g.out_w() * kLanes;
  }
  void done(int, int) const {}
};

// The output taken through batch norm + ReLU + max pooling's inference forward, group by group
// from this thread's buffer.
template <int kLanes>
struct PooledBnOutput {
  static constexpr int kBlocks = kGroup / kLanes;
  const PooledBnInfer& bn;
  std::vector<float> tiles;  // allocated by the first group: at n = 1, one of the threads has none
  float* to(int, int) {
    tiles.resize(size_t(kGroup) * size_t(bn.g.spatial));
    return tiles.data();
  }
  void done(int n, int group) {
    for (int blk = 0; blk < kBlocks; ++blk)
      BatchNorm<kLanes>::maxpool_forward_infer_tile(bn, n, group * kBlocks + blk,
                                                    tiles.data() + blk * bn.g.spatial * kLanes);
  }
};

// make_gradient() gives each thread its source of the images' output gradients (StoredGradient's
// or a computing one).
template <int kLanes, int KW, class MakeGradient>
void backward_weights(const ConvGeometry& g, const float* x, MakeGradient&& make_gradient, float* dw, float* dbias) {
  const int groups = g.k / kGroup, taps = g.kh * KW;
  const int chunks = std::min(kChunks, g.n);
  // Per (group, slice): taps x kGroup partial sums, then kGroup bias sums.
  const int64_t stride = int64_t(taps + 1) * kGroup;
  std::vector<float> partial(size_t(groups * chunks) * size_t(stride), 0.0f);
#pragma omp parallel
  {
    auto gradient = make_gradient();
    // Slices outermost: each thread takes a run of whole images, contiguous in dy.
#pragma omp for collapse(2) schedule(static)
    for (int c = 0; c < chunks; ++c)
      for (int group = 0; group < groups; ++group) {
        float* out = partial.data() + (int64_t(group) * chunks + c) * stride;
        slice_sums<kLanes, KW>(g, group, int(int64_t(g.n) * c / chunks), int(int64_t(g.n) * (c + 1) / chunks), x,
                               gradient, out, out + taps * kGroup);
      }
  }
  for (int group = 0; group < groups; ++group)
    for (int l = 0; l < kGroup; ++l) {
      const int k = group * kGroup + l;
      for (int t = 0; t <= taps; ++t) {
        float sum = 0;
        for (int c = 0; c < chunks; ++c)
          sum += partial[size_t((int64_t(group) * chunks + c) * stride + t * kGroup + l)];
        if (t < taps)
          dw[int64_t(k) * taps + t] = sum;
        else if (dbias)
          dbias[k] = sum;
      }
    }
}

// The output gradient of image n for a group's channels from batch norm + pooling's backward
// (pass 2), tile by tile into this thread's buffer.
template <int kLanes>
struct PooledBnGradient {
  static constexpr int kBlocks = kGroup / kLanes, kParts = StoredGradient<kLanes>::kParts;
  static_assert(kGroup % kLanes == 0, "a group is whole blocks");
  const PooledBnBackward& in;
  const float *mean_dy, *mean_dy_xhat;
  std::vector<float> tiles = std::vector<float>(size_t(kGroup) * size_t(in.g.spatial));
  std::array<const float*, kParts> operator()(int n, int group) {
    std::array<const float*, kParts> d;
    for (int blk = 0; blk < kBlocks; ++blk)
      BatchNorm<kLanes>::maxpool_backward_tile(in, mean_dy, mean_dy_xhat, n, group * kBlocks + blk,
                                               tiles.data() + blk * in.g.spatial * kLanes);
    for (int p = 0; p < kParts; ++p) {
      const int c = p * OutputLanes<kLanes>::kWidth;  // in the group
      d[p] = tiles.data() + c / kLanes * in.g.spatial * kLanes + c % kLanes;
    }
    return d;
  }
};

// Whether batch norm + pooling (bn, p) takes the output of convolution g, with non-overlapping windows.
bool follows(const ConvGeometry& g, const BatchNormGeometry& bn, const PoolGeometry& p) {
  return bn.n == g.n && bn.c == g.k && bn.spatial == int64_t(g.out_h()) * g.out_w() && p.h == g.out_h() &&
         p.w == g.out_w() && p.c == g.k && p.n == g.n && p.stride == p.size;
}

template <int kLanes>
bool one_channel(const ConvGeometry& g) {
  return g.c == 1 && g.stride == 1 && g.k % kGroup == 0 && is_blocked(kLanes, g.k, int64_t(g.out_h()) * g.out_w());
}

// run(std::integral_constant<int, KW>{}) for a kernel width these kernels take (3 or 5); false,
// running nothing, for another.
template <class Run>
bool with_kernel_width(int kw, Run&& run) {
  switch (kw) {
    case 3: run(std::integral_constant<int, 3>{}); return true;
    case 5: run(std::integral_constant<int, 5>{}); return true;
    default: return false;
  }
}

}  // namespace

template <int kBlock>
bool OneChannelConv<kBlock>::forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                                     float* y) {
  if (!one_channel<kBlock>(g)) return false;
  const auto stored = [&] { return StoredOutput<kBlock>{g, y}; };
  return with_kernel_width(g.kw, [&](auto kw) { blocked::forward<kBlock, kw>(g, x, w, bias, stored); });
}

template <int kBlock>
bool OneChannelConv<kBlock>::forward_through(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                                             const PooledBnInfer& bn) {
  if (!follows(g, bn.g, bn.p) || !one_channel<kBlock>(g)) return false;
  const auto pooled = [&] { return PooledBnOutput<kBlock>{bn}; };
  return with_kernel_width(g.kw, [&](auto kw) { blocked::forward<kBlock, kw>(g, x, w, bias, pooled); });
}

template <int kBlock>
bool OneChannelConv<kBlock>::backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                              float* dbias) {
  if (!one_channel<kBlock>(g)) return false;
  const auto stored = [&] { return StoredGradient<kBlock>{g, dy}; };
  return with_kernel_width(g.kw, [&](auto kw) { blocked::backward_weights<kBlock, kw>(g, x, stored, dw, dbias); });
}

template <int kBlock>
bool OneChannelConv<kBlock>::backward_weights_through(const ConvGeometry& g, const float* x, const PooledBnBackward& bn,
                                                      float* dw, float* dbias, float* dgamma, float* dbeta) {
  if (!follows(g, bn.g, bn.p) || !one_channel<kBlock>(g) || (g.kw != 3 && g.kw != 5)) return false;
  std::vector<float> mean_dy(size_t(g.k)), mean_dy_xhat(size_t(g.k));
  BatchNorm<kBlock>::maxpool_backward_sums(bn, dgamma, dbeta, mean_dy.data(), mean_dy_xhat.data());
  const auto computed = [&] { return PooledBnGradient<kBlock>{bn, mean_dy.data(), mean_dy_xhat.data()}; };
  return with_kernel_width(g.kw, [&](auto kw) { blocked::backward_weights<kBlock, kw>(g, x, computed, dw, dbias); });
}

template struct OneChannelConv<8>;   // below AVX-512, where activations come in blocks of 8
template struct OneChannelConv<16>;  // AVX-512: forward_through only

}  // namespace hdr::cpu::blocked
