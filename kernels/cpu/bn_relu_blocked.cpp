// Batch norm + ReLU on blocked tensors (see blocked.h), with the element math of
// kernels/bn_relu.cuh applied to vectors of channel lanes (kernels/cpu/lanes.h): a position's
// kLanes channels are kParts vectors (one AVX-512 vector or two AVX2 vectors for 16 lanes, one
// AVX2 vector for 8), each with its own constants.
// One OpenMP iteration per tile (image, block) in memory order, so that each thread streams a run
// of whole images: taken by block, each thread read 22 KB pieces 86 KB apart of cnn_bn's bn1, at
// a third of the memory bandwidth. The per-channel reductions keep each tile's float sums and
// add them across images in image order, in double, as the NCHW twin does (sums of u - pivot).
// The unpooled backward (bn3's, which fits the caches) still takes one iteration per block.
//
// The maxpool_* variants fuse a following max pooling with non-overlapping windows (stride ==
// size, as in every reference model): forward pools the batch-norm values as it computes them
// and never writes the 26x26 map; backward takes each position's gradient straight from the
// pooled gradient and argmax. Same results as forward_* then MaxPool::forward (argmax indexes the
// batch-norm output, laid out like x).
#include <array>
#include <vector>

#include "kernels/bn_relu.cuh"
#include "kernels/cpu/blocked.h"
#include "kernels/cpu/lanes.h"
#include "kernels/maxpool.cuh"

namespace hdr::cpu::blocked {
namespace {

// body(BnActivation constant) with the activation a compile-time constant.
template <class Body>
void with_activation(BnActivation act, Body&& body) {
  switch (act) {
    case BnActivation::kNone: body(std::integral_constant<BnActivation, BnActivation::kNone>{}); break;
    case BnActivation::kReluAfter: body(std::integral_constant<BnActivation, BnActivation::kReluAfter>{}); break;
    case BnActivation::kReluBefore: body(std::integral_constant<BnActivation, BnActivation::kReluBefore>{}); break;
  }
}

// The tiles of one block width: kLanes channels per position, kParts vectors of kWidth lanes.
template <int kLanes>
struct Tiles {
  static constexpr int kWidth = block_vector_lanes(kLanes);
  static constexpr int kParts = kLanes / kWidth;  // vectors per position
  using V = Lanes<kWidth>;
  using F = typename V::F;
  using I = typename V::I;

  // The per-channel constants of one vector of lanes: y = act((u - mean) * scale + shift).
  struct LaneAffine {
    F mean, inv_std, scale, shift;
  };
  // A block's: one per vector of its position.
  using BlockAffine = std::array<LaneAffine, kParts>;

  static int64_t tile_offset(const BatchNormGeometry& g, int i, int b) {
    return (int64_t(i) * (g.c / kLanes) + b) * g.spatial * kLanes;
  }

  // Per-lane float sums of one plane, added into double totals in plane order.
  static void add_to(double* total, const std::array<F, kParts>& part) {
    for (int p = 0; p < kParts; ++p)
      for (int l = 0; l < kWidth; ++l) total[p * kWidth + l] += part[p][l];
  }

  // The constants of block b from its per-channel mean and inv_std (kLanes each).
  static BlockAffine block_affine(int b, const float* mean, const float* inv_std, const float* gamma,
                                  const float* beta) {
    BlockAffine a;
    for (int p = 0; p < kParts; ++p) {
      const int c = b * kLanes + p * kWidth, l = p * kWidth;
      const F inv = V::load(inv_std + l);
      a[p] = {V::load(mean + l), inv, V::load(gamma + c) * inv, V::load(beta + c)};
    }
    return a;
  }

  // The float sums of u - pivot and of its square over `count` tiles from tile `first` (in memory
  // order: tile t is image t / blocks, block t % blocks), per plane in position order, into
  // sums: kLanes of each per tile. Tiles side by side: with one vector per position (8-lane
  // blocks on AVX2, 16 on AVX-512) a single chain of dependent adds left the adders waiting
  // (bn1 + pool1 forward ran 33% slower than with two).
  template <class Act, class Count>
  static void statistic_sums(Act, Count, const BatchNormGeometry& g, const float* x, const float* pivot, int64_t first,
                             float* sums) {
    constexpr BnActivation kAct = Act::value;
    constexpr int kTiles = Count::value;
    const int blocks = g.c / kLanes;
    std::array<std::array<F, kParts>, kTiles> piv, ps = {}, pss = {};
    for (int j = 0; j < kTiles; ++j)
      for (int p = 0; p < kParts; ++p) piv[j][p] = V::load(pivot + (first + j) % blocks * kLanes + p * kWidth);
    const float* tile = x + first * g.spatial * kLanes;
    for (int64_t s = 0; s < g.spatial; ++s)
      for (int j = 0; j < kTiles; ++j)
        for (int p = 0; p < kParts; ++p) {
          const F d = bn_input(V::load(tile + (j * g.spatial + s) * kLanes + p * kWidth), kAct) - piv[j][p];
          ps[j][p] += d;
          pss[j][p] += d * d;
        }
    for (int j = 0; j < kTiles; ++j)
      for (int p = 0; p < kParts; ++p) {
        V::store(sums + j * 2 * kLanes + p * kWidth, ps[j][p]);
        V::store(sums + j * 2 * kLanes + kLanes + p * kWidth, pss[j][p]);
      }
  }

  // Training statistics: saves mean and 1/std per channel, updates the running statistics. The
  // tiles' sums in memory order, so that each thread streams a run of whole images; then per
  // channel the tiles' sums in image order in double, from the pivot (the channel's first value).
  template <class Act>
  static void train_statistics(Act act, const BatchNormGeometry& g, const float* x, float* running_mean,
                               float* running_var, float* save_mean, float* save_inv_std) {
    constexpr BnActivation kAct = Act::value;
    const int blocks = g.c / kLanes;
    const int64_t tiles = int64_t(g.n) * blocks;
    std::vector<float> pivot(size_t(g.c)), sums(size_t(tiles) * 2 * kLanes);
    for (int b = 0; b < blocks; ++b)
      for (int p = 0; p < kParts; ++p)
        V::store(pivot.data() + b * kLanes + p * kWidth,
                 bn_input(V::load(x + tile_offset(g, 0, b) + p * kWidth), kAct));
    constexpr int kSideBySide = kParts == 1 ? 2 : 1;
    const int64_t m = int64_t(g.n) * g.spatial;
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tiles; t += kSideBySide) {
        float* out = sums.data() + t * 2 * kLanes;
        if (t + kSideBySide <= tiles)
          statistic_sums(act, std::integral_constant<int, kSideBySide>{}, g, x, pivot.data(), t, out);
        else
          statistic_sums(act, std::integral_constant<int, 1>{}, g, x, pivot.data(), t, out);
      }
#pragma omp for schedule(static)
      for (int c = 0; c < g.c; ++c) {
        const int b = c / kLanes, l = c % kLanes;
        double sum = 0, sum_sq = 0;
        for (int i = 0; i < g.n; ++i) {
          sum += sums[size_t((int64_t(i) * blocks + b) * 2 * kLanes + l)];
          sum_sq += sums[size_t((int64_t(i) * blocks + b) * 2 * kLanes + kLanes + l)];
        }
        bn_finish_stats(pivot[size_t(c)], sum, sum_sq, m, g.eps, g.momentum, running_mean[c], running_var[c],
                        save_mean[c], save_inv_std[c]);
      }
    }
  }

  static BlockAffine running_affine(const BatchNormGeometry& g, int b, const float* gamma, const float* beta,
                                    const float* running_mean, const float* running_var) {
    float inv_std[kLanes];
    for (int l = 0; l < kLanes; ++l) inv_std[l] = bn_inv_std(running_var[b * kLanes + l], g.eps);
    return block_affine(b, running_mean + b * kLanes, inv_std, gamma, beta);
  }

  static BlockAffine saved_affine(int b, const float* gamma, const float* beta, const float* save_mean,
                                  const float* save_inv_std) {
    return block_affine(b, save_mean + b * kLanes, save_inv_std + b * kLanes, gamma, beta);
  }

  // y = bn_relu(x) over tile (i, b).
  template <class Act>
  static void apply_tile(Act, const BatchNormGeometry& g, int i, int b, const BlockAffine& a, const float* x,
                         float* y) {
    constexpr BnActivation kAct = Act::value;
    for (int64_t k = tile_offset(g, i, b), end = k + g.spatial * kLanes; k < end; k += kLanes)
      for (int p = 0; p < kParts; ++p) {
        const int64_t at = k + p * kWidth;
        V::store(y + at, bn_relu_value(V::load(x + at), a[p].mean, a[p].scale, a[p].shift, kAct));
      }
  }

  // x at each lane's argmax `am` in the window whose first position (in the plane) is `first`,
  // blended from the window's positions; x points at the lanes' values at position 0.
  static F value_at_argmax(const PoolGeometry& p, const float* x, I am, int32_t first) {
    F value = V::load(x + int64_t(first) * kLanes);
    for (int di = 0; di < p.size; ++di)
      for (int dj = di == 0 ? 1 : 0; dj < p.size; ++dj) {
        const int32_t position = first + di * p.w + dj;
        value = am == position ? V::load(x + int64_t(position) * kLanes) : value;
      }
    return value;
  }

  // y, argmax = maxpool(bn_relu(x)) over tile (i, b), whose values x_tile holds, batch-norm values
  // computed on the fly (argmax where not null); and where x_max is not null, x at each argmax,
  // for backward's pass 1.
  template <class Act>
  static void apply_and_pool_tile(Act, const BatchNormGeometry& g, const PoolGeometry& pool, int i, int b,
                                  const BlockAffine& a, const float* x_tile, float* y, int32_t* argmax, float* x_max) {
    constexpr BnActivation kAct = Act::value;
    const int out_h = pool.out_h(), out_w = pool.out_w();
    const int64_t out_base = (int64_t(i) * (g.c / kLanes) + b) * out_h * out_w * kLanes;
    for (int r = 0; r < out_h; ++r)
      for (int q = 0; q < out_w; ++q)
        for (int p = 0; p < kParts; ++p) {
          const LaneAffine& lanes = a[p];
          const int32_t first = r * pool.stride * pool.w + q * pool.stride;  // in the plane
          const float* lanes_x = x_tile + p * kWidth;
          F x_best = V::load(lanes_x + int64_t(first) * kLanes);
          F best = bn_relu_value(x_best, lanes.mean, lanes.scale, lanes.shift, kAct);
          I where = I{} + first;
          for (int di = 0; di < pool.size; ++di)
            for (int dj = di == 0 ? 1 : 0; dj < pool.size; ++dj) {
              const int32_t at = first + di * pool.w + dj;
              const F value = V::load(lanes_x + int64_t(at) * kLanes);
              maxpool_take(bn_relu_value(value, lanes.mean, lanes.scale, lanes.shift, kAct), I{} + at, value, best,
                           where, x_best);
            }
          const int64_t o = out_base + (int64_t(r) * out_w + q) * kLanes + p * kWidth;
          V::store(y + o, best);
          if (argmax) V::store(argmax + o, where);
          if (x_max) V::store(x_max + o, x_best);
        }
  }

  // The gradient sums of one vector of lanes: dy_eff and dy_eff * xhat, added into ps / pss.
  template <class Act>
  static void add_grad_sums(Act, const LaneAffine& a, F x, F dy, F& ps, F& pss) {
    constexpr BnActivation kAct = Act::value;
    const F dy_eff = bn_effective_dy(x, dy, a.mean, a.scale, a.shift, kAct);
    ps += dy_eff;
    pss += dy_eff * bn_xhat(x, a.mean, a.inv_std, kAct);
  }

  // The channel means of the sums (dbeta / m, dgamma / m), one pair per vector of lanes.
  struct GradMeans {
    F dy, dy_xhat;
  };
  using BlockGradMeans = std::array<GradMeans, kParts>;

  // Writes dgamma and dbeta of block b and returns the means.
  static BlockGradMeans finish_grad_sums(const BatchNormGeometry& g, int b, const double* sum_dy,
                                         const double* sum_dy_xhat, float* dgamma, float* dbeta) {
    const double m = double(g.n) * double(g.spatial);
    BlockGradMeans means;
    for (int l = 0; l < kLanes; ++l) {
      dbeta[b * kLanes + l] = float(sum_dy[l]);
      dgamma[b * kLanes + l] = float(sum_dy_xhat[l]);
      means[l / kWidth].dy[l % kWidth] = m > 0 ? float(sum_dy[l] / m) : 0.0f;
      means[l / kWidth].dy_xhat[l % kWidth] = m > 0 ? float(sum_dy_xhat[l] / m) : 0.0f;
    }
    return means;
  }

  // The means of block b from per-channel arrays, as finish_grad_sums returned them.
  static BlockGradMeans load_means(int b, const float* mean_dy, const float* mean_dy_xhat) {
    BlockGradMeans means;
    for (int p = 0; p < kParts; ++p) {
      const int c = b * kLanes + p * kWidth;
      means[p] = {V::load(mean_dy + c), V::load(mean_dy_xhat + c)};
    }
    return means;
  }

  // dx of one vector of lanes from its (effective) dy.
  template <class Act>
  static F input_grad(Act, const LaneAffine& a, const GradMeans& means, F x, F dy) {
    constexpr BnActivation kAct = Act::value;
    const F dy_eff = bn_effective_dy(x, dy, a.mean, a.scale, a.shift, kAct);
    return bn_relu_input_grad(x, dy_eff, bn_xhat(x, a.mean, a.inv_std, kAct), a.scale, means.dy, means.dy_xhat, kAct);
  }

  // Asks for the input rows of pooled row r + kPrefetchRows of image i's tile of block b (or of
  // the next tile in memory, past the last row: the order the passes walk) ahead of use. In a
  // training step the backward passes stream x from memory (bn1's is 5.5 MB), at about half the
  // STREAM bandwidth with the hardware prefetcher alone; BM_BnReluMaxPoolBackwardCold ran 4-22%
  // faster with this in 4 of 4 pairs.
  static constexpr int kPrefetchRows = 2;
  static void prefetch_ahead(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, int b, int i, int r) {
    r += kPrefetchRows;
    if (r >= p.out_h()) {
      r -= p.out_h();
      if (++b == g.c / kLanes) {
        b = 0;
        if (++i == g.n) return;
      }
    }
    const float* first = x + tile_offset(g, i, b) + int64_t(r * p.stride) * p.w * kLanes;
    for (int64_t k = 0; k < int64_t(p.size) * p.w * kLanes; k += 16) __builtin_prefetch(first + k);  // a line each
  }

  // The pooled gradient routed to one window position: dy where argmax points at it, else 0.
  static F routed_grad(const float* dy, const int32_t* argmax, int64_t o, int32_t position) {
    return V::load(argmax + o) == I{} + position ? V::load(dy + o) : F{};
  }

  // body(part, o, x_max) for every pooling window of tile (i, b): o its pooled output, x_max the
  // vector of its input values at the window's argmax (per lane, blended from the window's
  // positions). The input rows are prefetched ahead.
  template <class Body>
  static void walk_window_maxima(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                 const int32_t* argmax, int b, int i, Body&& body) {
    const int out_h = p.out_h(), out_w = p.out_w();
    const int64_t in_base = tile_offset(g, i, b), out_base = (int64_t(i) * (g.c / kLanes) + b) * out_h * out_w * kLanes;
    for (int r = 0; r < out_h; ++r) {
      prefetch_ahead(g, p, x, b, i, r);
      for (int q = 0; q < out_w; ++q)
        for (int part = 0; part < kParts; ++part) {
          const int64_t o = out_base + (int64_t(r) * out_w + q) * kLanes + part * kWidth;
          body(part, o,
               value_at_argmax(p, x + in_base + part * kWidth, V::load(argmax + o), r * p.stride * p.w + q * p.stride));
        }
    }
  }

  // body(part, o, at, position) for every value of every pooling window of tile (i, b), window
  // by window: o its pooled output, at its offset in the tile, position its index in the plane.
  // The input rows are prefetched ahead.
  template <class Body>
  static void walk_windows(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, int b, int i,
                           Body&& body) {
    const int out_h = p.out_h(), out_w = p.out_w();
    const int64_t out_base = (int64_t(i) * (g.c / kLanes) + b) * out_h * out_w * kLanes;
    for (int r = 0; r < out_h; ++r) {
      prefetch_ahead(g, p, x, b, i, r);
      for (int q = 0; q < out_w; ++q)
        for (int di = 0; di < p.size; ++di)
          for (int dj = 0; dj < p.size; ++dj)
            for (int part = 0; part < kParts; ++part) {
              const int32_t position = (r * p.stride + di) * p.w + q * p.stride + dj;
              body(part, out_base + (int64_t(r) * out_w + q) * kLanes + part * kWidth,
                   int64_t(position) * kLanes + part * kWidth, position);
            }
    }
  }

  // Pass 1 of the pooled backward (see BatchNorm::maxpool_backward) over tile (i, b): the float
  // sums at the window maxima into sums, kLanes of dy then kLanes of dy * xhat.
  template <class Act>
  static void pooled_tile_sums(Act act, const PooledBnBackward& in, int i, int b, float* sums) {
    const auto a = saved_affine(b, in.gamma, in.beta, in.save_mean, in.save_inv_std);
    std::array<F, kParts> ps = {}, pss = {};
    const auto add = [&](int part, int64_t o, F x_max) {
      add_grad_sums(act, a[part], x_max, V::load(in.dy + o), ps[part], pss[part]);
    };
    if (in.x_max) {  // the same values in the same order, from the forward's record
      const int64_t pooled = int64_t(in.p.out_h()) * in.p.out_w() * kLanes,
                    first = (int64_t(i) * (in.g.c / kLanes) + b) * pooled;
      for (int64_t o = first; o < first + pooled; o += kLanes)
        for (int part = 0; part < kParts; ++part) add(part, o + part * kWidth, V::load(in.x_max + o + part * kWidth));
    } else {
      walk_window_maxima(in.g, in.p, in.x, in.argmax, b, i, add);
    }
    for (int p = 0; p < kParts; ++p) {
      V::store(sums + p * kWidth, ps[p]);
      V::store(sums + kLanes + p * kWidth, pss[p]);
    }
  }

  // Pass 1 over the batch: the tiles in memory order, so that each thread streams one run of
  // whole images (by block, each thread read 22 KB pieces 86 KB apart in cnn_bn's bn1, at a
  // third of the memory bandwidth); then per channel the tiles' float sums added in image
  // order in double. Writes dgamma and dbeta, and the means per channel.
  template <class Act>
  static void pooled_grad_sums(Act act, const PooledBnBackward& in, float* dgamma, float* dbeta, float* mean_dy,
                               float* mean_dy_xhat) {
    const int blocks = in.g.c / kLanes;
    const int64_t tiles = int64_t(in.g.n) * blocks;
    std::vector<float> tile_sums(size_t(tiles) * 2 * kLanes);
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tiles; ++t)
        pooled_tile_sums(act, in, int(t / blocks), int(t % blocks), tile_sums.data() + t * 2 * kLanes);
#pragma omp for schedule(static)
      for (int b = 0; b < blocks; ++b) {
        double sum_dy[kLanes] = {}, sum_dy_xhat[kLanes] = {};
        for (int i = 0; i < in.g.n; ++i) {
          const float* s = tile_sums.data() + (int64_t(i) * blocks + b) * 2 * kLanes;
          for (int l = 0; l < kLanes; ++l) {
            sum_dy[l] += s[l];
            sum_dy_xhat[l] += s[kLanes + l];
          }
        }
        const BlockGradMeans means = finish_grad_sums(in.g, b, sum_dy, sum_dy_xhat, dgamma, dbeta);
        for (int p = 0; p < kParts; ++p) {
          V::store(mean_dy + b * kLanes + p * kWidth, means[p].dy);
          V::store(mean_dy_xhat + b * kLanes + p * kWidth, means[p].dy_xhat);
        }
      }
    }
  }

  // Pass 2 over tile (i, b) into dx_tile: at the window positions from the routed gradient; at
  // the positions no window covers (the last row and column of an odd map) from dy = 0 (not
  // zero: the mean terms).
  template <class Act>
  static void pooled_input_grad_tile(Act act, const PooledBnBackward& in, const BlockGradMeans& means, int i, int b,
                                     float* dx_tile) {
    const BatchNormGeometry& g = in.g;
    const PoolGeometry& p = in.p;
    const auto a = saved_affine(b, in.gamma, in.beta, in.save_mean, in.save_inv_std);
    const float* x = in.x + tile_offset(g, i, b);
    walk_windows(g, p, in.x, b, i, [&](int part, int64_t o, int64_t at, int32_t position) {
      V::store(dx_tile + at,
               input_grad(act, a[part], means[part], V::load(x + at), routed_grad(in.dy, in.argmax, o, position)));
    });
    const int covered_h = p.out_h() * p.stride, covered_w = p.out_w() * p.stride;
    for (int row = 0; row < p.h; ++row)
      for (int col = row < covered_h ? covered_w : 0; col < p.w; ++col)
        for (int part = 0; part < kParts; ++part) {
          const int64_t at = (int64_t(row) * p.w + col) * kLanes + part * kWidth;
          V::store(dx_tile + at, input_grad(act, a[part], means[part], V::load(x + at), F{}));
        }
  }
};

}  // namespace

template <int kBlock>
void BatchNorm<kBlock>::forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                                      float* running_mean, float* running_var, float* save_mean, float* save_inv_std,
                                      float* y) {
  using T = Tiles<kBlock>;
  const int blocks = g.c / kBlock;
  with_activation(g.activation, [&](auto act) {
    T::train_statistics(act, g, x, running_mean, running_var, save_mean, save_inv_std);
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < int64_t(g.n) * blocks; ++t) {
      const int i = int(t / blocks), b = int(t % blocks);
      T::apply_tile(act, g, i, b, T::saved_affine(b, gamma, beta, save_mean, save_inv_std), x, y);
    }
  });
}

template <int kBlock>
void BatchNorm<kBlock>::forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                                      const float* running_mean, const float* running_var, float* y) {
  using T = Tiles<kBlock>;
  with_activation(g.activation, [&](auto act) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int b = 0; b < g.c / kBlock; ++b)
        T::apply_tile(act, g, i, b, T::running_affine(g, b, gamma, beta, running_mean, running_var), x, y);
  });
}

template <int kBlock>
void BatchNorm<kBlock>::backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                                 const float* beta, const float* save_mean, const float* save_inv_std, float* dx,
                                 float* dgamma, float* dbeta) {
  using T = Tiles<kBlock>;
  constexpr int kParts = T::kParts, kWidth = T::kWidth;
  using V = typename T::V;
  using F = typename V::F;
  with_activation(g.activation, [&](auto act) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g.c / kBlock; ++b) {
      const auto a = T::saved_affine(b, gamma, beta, save_mean, save_inv_std);
      double sum_dy[kBlock] = {}, sum_dy_xhat[kBlock] = {};
      for (int i = 0; i < g.n; ++i) {
        std::array<F, kParts> ps = {}, pss = {};
        for (int64_t k = T::tile_offset(g, i, b), end = k + g.spatial * kBlock; k < end; k += kBlock)
          for (int p = 0; p < kParts; ++p) {
            const int64_t at = k + p * kWidth;
            T::add_grad_sums(act, a[p], V::load(x + at), V::load(dy + at), ps[p], pss[p]);
          }
        T::add_to(sum_dy, ps);
        T::add_to(sum_dy_xhat, pss);
      }
      const auto means = T::finish_grad_sums(g, b, sum_dy, sum_dy_xhat, dgamma, dbeta);
      for (int i = 0; i < g.n; ++i)
        for (int64_t k = T::tile_offset(g, i, b), end = k + g.spatial * kBlock; k < end; k += kBlock)
          for (int p = 0; p < kParts; ++p) {
            const int64_t at = k + p * kWidth;
            V::store(dx + at, T::input_grad(act, a[p], means[p], V::load(x + at), V::load(dy + at)));
          }
    }
  });
}

template <int kBlock>
void BatchNorm<kBlock>::input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a,
                                          const float* b, float* dx) {
  using V = Lanes<block_vector_lanes(kBlock)>;
  using F = typename V::F;
  constexpr int kWidth = block_vector_lanes(kBlock);
  with_activation(g.activation, [&](auto act) {
    constexpr BnActivation kAct = decltype(act)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int blk = 0; blk < g.c / kBlock; ++blk) {
        for (int p = 0; p < kBlock / kWidth; ++p) {
          const int c = blk * kBlock + p * kWidth;
          const F m_lanes = V::load(mean + c), a_lanes = V::load(a + c), b_lanes = V::load(b + c);
          for (int64_t k = Tiles<kBlock>::tile_offset(g, i, blk) + p * kWidth, end = k + g.spatial * kBlock; k < end;
               k += kBlock)
            V::store(dx + k,
                     V::load(dx + k) + bn_input_grad_adjustment(V::load(x + k), m_lanes, a_lanes, b_lanes, kAct));
        }
      }
  });
}

template <int kBlock>
void BatchNorm<kBlock>::maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                              const float* gamma, const float* beta, float* running_mean,
                                              float* running_var, float* save_mean, float* save_inv_std, float* y,
                                              int32_t* argmax, float* x_max) {
  using T = Tiles<kBlock>;
  const int blocks = g.c / kBlock;
  with_activation(g.activation, [&](auto act) {
    T::train_statistics(act, g, x, running_mean, running_var, save_mean, save_inv_std);
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < int64_t(g.n) * blocks; ++t) {
      const int i = int(t / blocks), b = int(t % blocks);
      T::apply_and_pool_tile(act, g, p, i, b, T::saved_affine(b, gamma, beta, save_mean, save_inv_std),
                             x + T::tile_offset(g, i, b), y, argmax, x_max);
    }
  });
}

template <int kBlock>
void BatchNorm<kBlock>::maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                              const float* gamma, const float* beta, const float* running_mean,
                                              const float* running_var, float* y, int32_t* argmax, float* x_max) {
  using T = Tiles<kBlock>;
  with_activation(g.activation, [&](auto act) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int b = 0; b < g.c / kBlock; ++b)
        T::apply_and_pool_tile(act, g, p, i, b, T::running_affine(g, b, gamma, beta, running_mean, running_var),
                               x + T::tile_offset(g, i, b), y, argmax, x_max);
  });
}

template <int kBlock>
void BatchNorm<kBlock>::maxpool_forward_infer_tile(const PooledBnInfer& in, int i, int b, const float* x_tile) {
  using T = Tiles<kBlock>;
  with_activation(in.g.activation, [&](auto act) {
    T::apply_and_pool_tile(act, in.g, in.p, i, b,
                           T::running_affine(in.g, b, in.gamma, in.beta, in.running_mean, in.running_var), x_tile, in.y,
                           in.argmax, nullptr);
  });
}

// Pass 1 sums the gradient at each window's argmax only: everywhere else dy is 0, and its terms
// (exact zeros) leave a float sum started at +0 as it is, so the sums are those of every
// position. Pass 2 writes dx from them, tile by tile in memory order as pass 1 reads.
template <int kBlock>
void BatchNorm<kBlock>::maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                         const float* dy, const int32_t* argmax, const float* gamma, const float* beta,
                                         const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                                         float* dbeta, const float* x_max) {
  using T = Tiles<kBlock>;
  const PooledBnBackward in{g, p, x, dy, argmax, gamma, beta, save_mean, save_inv_std, x_max};
  std::vector<float> mean_dy(size_t(g.c)), mean_dy_xhat(size_t(g.c));
  const int blocks = g.c / kBlock;
  with_activation(g.activation, [&](auto act) {
    T::pooled_grad_sums(act, in, dgamma, dbeta, mean_dy.data(), mean_dy_xhat.data());
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < int64_t(g.n) * blocks; ++t) {
      const int i = int(t / blocks), b = int(t % blocks);
      T::pooled_input_grad_tile(act, in, T::load_means(b, mean_dy.data(), mean_dy_xhat.data()), i, b,
                                dx + T::tile_offset(g, i, b));
    }
  });
}

template <int kBlock>
void BatchNorm<kBlock>::maxpool_backward_sums(const PooledBnBackward& in, float* dgamma, float* dbeta, float* mean_dy,
                                              float* mean_dy_xhat) {
  with_activation(in.g.activation,
                  [&](auto act) { Tiles<kBlock>::pooled_grad_sums(act, in, dgamma, dbeta, mean_dy, mean_dy_xhat); });
}

template <int kBlock>
void BatchNorm<kBlock>::maxpool_backward_tile(const PooledBnBackward& in, const float* mean_dy,
                                              const float* mean_dy_xhat, int i, int b, float* dx_tile) {
  using T = Tiles<kBlock>;
  with_activation(in.g.activation, [&](auto act) {
    T::pooled_input_grad_tile(act, in, T::load_means(b, mean_dy, mean_dy_xhat), i, b, dx_tile);
  });
}

template struct BatchNorm<8>;
template struct BatchNorm<16>;

}  // namespace hdr::cpu::blocked
