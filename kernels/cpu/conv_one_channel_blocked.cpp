// The convolution with one input channel (the first layer) whose output is blocked (blocked.h),
// forward and weight gradient: oneDNN 2.6 is slow at both on AVX2 (forward jit:avx2 at 44
// GFLOP/s; backward-weights gemm:jit at 4-9 GFLOP/s, 2 ms of cnn_bn's 15 ms step), while on
// AVX-512 its jit kernels are fast and the CPU backend keeps them. Each position's kLanes output
// channels are vectors of lanes (kernels/cpu/lanes.h) and each input pixel a broadcast: one FMA
// per tap. Forward: one thread per (image, group of 16 channels), taps added in order. Backward: the batch is
// cut into kChunks fixed slices whose partial sums are added in slice order, so the bits depend
// on the geometry alone, not on the threads.
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

// Sums of one (group of kGroup channels, batch slice) into acc (kh * kw taps x kGroup) and bias
// (kGroup), KW taps per kernel row in registers.
template <int kLanes, int KW>
void slice_sums(const ConvGeometry& g, int group, int first, int last, const float* x, const float* dy, float* acc,
                float* bias) {
  using O = OutputLanes<kLanes>;
  using V = typename O::V;
  using F = typename O::F;
  constexpr int kWidth = O::kWidth, kParts = kGroup / kWidth;
  const int out_h = g.out_h(), out_w = g.out_w(), padded_w = g.w + 2 * g.pad_w, blocks = g.k / kLanes;
  const int64_t spatial = int64_t(out_h) * out_w;
  std::vector<float> plane;
  std::array<F, kParts> b = {};
  for (int n = first; n < last; ++n) {
    pad_plane(g, x, n, plane);
    std::array<const float*, kParts> d;  // each vector's channels at position 0 of image n
    for (int p = 0; p < kParts; ++p) {
      const int c = group * kGroup + p * kWidth;
      d[p] = dy + (int64_t(n) * blocks + c / kLanes) * spatial * kLanes + c % kLanes;
    }
    for (int i = 0; i < g.kh; ++i) {
      std::array<std::array<F, KW>, kParts> a = {};
      for (int oh = 0; oh < out_h; ++oh) {
        const float* row = plane.data() + (oh + i) * padded_w;
        for (int ow = 0; ow < out_w; ++ow) {
          const int64_t at = (int64_t(oh) * out_w + ow) * kLanes;
          for (int p = 0; p < kParts; ++p) {
            const F dv = V::load(d[p] + at);
            for (int j = 0; j < KW; ++j) a[p][j] += row[ow + j] * dv;
            if (i == 0) b[p] += dv;
          }
        }
      }
      for (int p = 0; p < kParts; ++p)
        for (int j = 0; j < KW; ++j) {
          float* tap = acc + (i * KW + j) * kGroup + p * kWidth;
          V::store(tap, V::load(tap) + a[p][j]);
        }
    }
  }
  for (int p = 0; p < kParts; ++p) V::store(bias + p * kWidth, b[p]);
}

// Output positions the forward pass computes at once: kTile x kParts accumulators, so that each
// tap's weight vectors are loaded once for kTile positions and the FMA chains are independent
// (one position at a time, one chain of kh * kw dependent FMAs, ran at a third of this speed).
constexpr int kTile = 4;

template <int kLanes, int KW>
void forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  using O = OutputLanes<kLanes>;
  using V = typename O::V;
  using F = typename O::F;
  constexpr int kWidth = O::kWidth, kParts = kGroup / kWidth;
  const int out_h = g.out_h(), out_w = g.out_w(), padded_w = g.w + 2 * g.pad_w, blocks = g.k / kLanes;
  const int groups = g.k / kGroup, taps = g.kh * KW;
  const int64_t spatial = int64_t(out_h) * out_w;
  // oihw -> per group, kGroup lanes per tap
  std::vector<float> group_taps(size_t(g.k) * taps);
  for (int k = 0; k < g.k; ++k)
    for (int t = 0; t < taps; ++t)
      group_taps[size_t(((k / kGroup) * taps + t) * kGroup + k % kGroup)] = w[k * taps + t];
#pragma omp parallel
  {
    std::vector<float> plane;
#pragma omp for collapse(2) schedule(static)
    for (int n = 0; n < g.n; ++n)
      for (int group = 0; group < groups; ++group) {
        pad_plane(g, x, n, plane);
        const float* lanes = group_taps.data() + int64_t(group) * taps * kGroup;
        std::array<float*, kParts> out;  // each vector's channels at position 0 of image n
        std::array<F, kParts> b;
        for (int p = 0; p < kParts; ++p) {
          const int c = group * kGroup + p * kWidth;
          out[p] = y + (int64_t(n) * blocks + c / kLanes) * spatial * kLanes + c % kLanes;
          b[p] = bias ? V::load(bias + c) : F{};
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
            for (int p = 0; p < kParts; ++p) V::store(out[p] + (int64_t(oh) * out_w + ow + r) * kLanes, acc[r][p]);
        };
        for (int oh = 0; oh < out_h; ++oh) {
          int ow = 0;
          for (; ow + kTile <= out_w; ow += kTile) positions(std::integral_constant<int, kTile>{}, oh, ow);
          for (; ow < out_w; ++ow) positions(std::integral_constant<int, 1>{}, oh, ow);
        }
      }
  }
}

template <int kLanes, int KW>
void backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias) {
  const int groups = g.k / kGroup, taps = g.kh * KW;
  const int chunks = std::min(kChunks, g.n);
  // Per (group, slice): taps x kGroup partial sums, then kGroup bias sums.
  const int64_t stride = int64_t(taps + 1) * kGroup;
  std::vector<float> partial(size_t(groups * chunks) * size_t(stride), 0.0f);
#pragma omp parallel for collapse(2) schedule(static)
  for (int group = 0; group < groups; ++group)
    for (int c = 0; c < chunks; ++c) {
      float* out = partial.data() + (int64_t(group) * chunks + c) * stride;
      slice_sums<kLanes, KW>(g, group, int(int64_t(g.n) * c / chunks), int(int64_t(g.n) * (c + 1) / chunks), x, dy, out,
                             out + taps * kGroup);
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

template <int kLanes>
bool one_channel(const ConvGeometry& g) {
  return g.c == 1 && g.stride == 1 && g.k % kGroup == 0 && is_blocked(kLanes, g.k, int64_t(g.out_h()) * g.out_w());
}

}  // namespace

template <int kBlock>
bool OneChannelConv<kBlock>::forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                                     float* y) {
  if (!one_channel<kBlock>(g)) return false;
  switch (g.kw) {
    case 3: blocked::forward<kBlock, 3>(g, x, w, bias, y); return true;
    case 5: blocked::forward<kBlock, 5>(g, x, w, bias, y); return true;
    default: return false;
  }
}

template <int kBlock>
bool OneChannelConv<kBlock>::backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                              float* dbias) {
  if (!one_channel<kBlock>(g)) return false;
  switch (g.kw) {
    case 3: blocked::backward_weights<kBlock, 3>(g, x, dy, dw, dbias); return true;
    case 5: blocked::backward_weights<kBlock, 5>(g, x, dy, dw, dbias); return true;
    default: return false;
  }
}

template struct OneChannelConv<8>;  // used below AVX-512 only, where activations come in blocks of 8

}  // namespace hdr::cpu::blocked
