// Synchronised batch norm's per-channel kernels (kernels/bn_relu.cuh, bn_sync_*), run through the
// CUDA emulation with the launchers' grid at several block sizes (300 channels: more than one
// block), against the CPU twins bit for bit (the same per-channel function, no reduction); and
// the maths: two slices' packed statistics, summed, give the mean and variance of the whole
// batch, and the adjustment turns a slice's input gradient into the whole batch's.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/bn_relu.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops.h"

namespace hdr {
namespace {

constexpr int kBlockSizes[] = {32, 96, 256};

std::vector<float> uniform(size_t count, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& e : v) e = dist(rng);
  return v;
}

// One slice's statistics as the training op saves them: mean and 1/sqrt(var + eps) per channel,
// here from a plain double loop over values[channel][...].
struct SliceStats {
  std::vector<float> mean, inv_std;
};
SliceStats slice_stats(const std::vector<std::vector<double>>& values, float eps) {
  SliceStats s;
  for (const std::vector<double>& v : values) {
    double sum = 0, sq = 0;
    for (double e : v) sum += e;
    const double mean = sum / double(v.size());
    for (double e : v) sq += (e - mean) * (e - mean);
    s.mean.push_back(float(mean));
    s.inv_std.push_back(bn_inv_std(sq / double(v.size()), eps));
  }
  return s;
}

TEST(BnSyncSimt, KernelsMatchTheCpuTwinsBitForBit) {
  std::mt19937 rng(17);
  const int c = 300;
  BatchNormGeometry g;
  g.n = 3, g.c = c, g.spatial = 49;
  const std::vector<float> first = uniform(c, -2.0f, 2.0f, rng), second = uniform(c, 0.5f, 3.0f, rng),
                           gamma = uniform(c, 0.5f, 1.5f, rng), running = uniform(2 * size_t(c), 0.5f, 1.5f, rng);
  std::vector<double> sums(2 * size_t(c));
  for (double& s : sums) s = std::uniform_real_distribution<double>(1.0, 50.0)(rng);
  for (const BnSyncPack kind : {BnSyncPack::kStatistics, BnSyncPack::kGradients}) {
    std::vector<double> twin(2 * size_t(c));
    cpu::bn_sync_pack(c, kind, 147.0, g.eps, first.data(), second.data(), twin.data());
    for (int block : kBlockSizes) {
      std::vector<double> got(2 * size_t(c), NAN);
      simt::launch(bn_channel_grid(c, block), dim3(unsigned(block)), bn_sync_pack_kernel, c, kind, 147.0, g.eps,
                   first.data(), second.data(), got.data());
      EXPECT_EQ(got, twin) << "pack " << int(kind) << ", block " << block;
    }
  }
  std::vector<float> twin_running = running, twin_stats(3 * size_t(c));
  float* t = twin_stats.data();
  cpu::bn_sync_combine(g, 2.0 * g.n * g.spatial, sums.data(), twin_running.data(), twin_running.data() + c, t, t + c,
                       t + 2 * c);
  std::vector<float> twin_ab(2 * size_t(c));
  cpu::bn_sync_adjust(c, double(g.n) * g.spatial, sums.data(), gamma.data(), second.data(), first.data(), second.data(),
                      twin_ab.data(), twin_ab.data() + c);
  for (int block : kBlockSizes) {
    std::vector<float> got_running = running, got_stats(3 * size_t(c), NAN), got_ab(2 * size_t(c), NAN);
    float* s = got_stats.data();
    simt::launch(bn_finish_grid(g, block), dim3(unsigned(block)), bn_sync_combine_kernel, g, 2.0 * g.n * g.spatial,
                 static_cast<const double*>(sums.data()), got_running.data(), got_running.data() + c, s, s + c,
                 s + 2 * c);
    EXPECT_EQ(got_running, twin_running) << "combine, block " << block;
    EXPECT_EQ(got_stats, twin_stats) << "combine, block " << block;
    simt::launch(bn_channel_grid(c, block), dim3(unsigned(block)), bn_sync_adjust_kernel, c, double(g.n) * g.spatial,
                 static_cast<const double*>(sums.data()), gamma.data(), second.data(), first.data(), second.data(),
                 got_ab.data(), got_ab.data() + c);
    EXPECT_EQ(got_ab, twin_ab) << "adjust, block " << block;
  }
}

// Two slices of 200 and 70 values per channel, far from zero mean: their packs summed and
// combined give the statistics of all 270 values, and the running statistics take those.
TEST(BnSyncSimt, TwoSlicesStatisticsCombineIntoTheWholeBatchs) {
  std::mt19937 rng(5);
  constexpr int c = 4;
  constexpr size_t m[2] = {200, 70};
  BatchNormGeometry g;
  g.c = c;
  std::vector<std::vector<double>> slices[2], whole(c);
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < c; ++k) {
      std::vector<double> v;
      for (float e : uniform(m[r], 0.0f, 1.0f + float(k), rng)) v.push_back(double(e) + 10.0 * k + 3.0 * r);
      whole[size_t(k)].insert(whole[size_t(k)].end(), v.begin(), v.end());
      slices[r].push_back(std::move(v));
    }
  std::vector<double> sums(2 * c, 0.0);
  for (int r = 0; r < 2; ++r) {
    const SliceStats s = slice_stats(slices[r], g.eps);
    std::vector<double> pack(2 * c, NAN);
    simt::launch(bn_channel_grid(c, 32), dim3(32), bn_sync_pack_kernel, c, BnSyncPack::kStatistics, double(m[r]), g.eps,
                 s.mean.data(), s.inv_std.data(), pack.data());
    for (size_t i = 0; i < pack.size(); ++i) sums[i] += pack[i];
  }
  std::vector<float> running_mean(c, 0.5f), running_var(c, 2.0f), mean(c), inv_std(c), var(c);
  simt::launch(bn_finish_grid(g, 32), dim3(32), bn_sync_combine_kernel, g, double(m[0] + m[1]),
               static_cast<const double*>(sums.data()), running_mean.data(), running_var.data(), mean.data(),
               inv_std.data(), var.data());
  for (int k = 0; k < c; ++k) {
    const std::vector<double>& v = whole[size_t(k)];
    double sum = 0, sq = 0;
    for (double e : v) sum += e;
    const double want_mean = sum / double(v.size());
    for (double e : v) sq += (e - want_mean) * (e - want_mean);
    const double want_var = sq / double(v.size());
    // The slices' saved statistics are floats: their rounding (1e-7 relative of the mean) is
    // what the combination can lose.
    EXPECT_NEAR(mean[size_t(k)], want_mean, 1e-6 * std::abs(want_mean)) << "channel " << k;
    EXPECT_NEAR(var[size_t(k)], want_var, 2e-5 * want_var + 1e-6 * want_mean) << "channel " << k;
    EXPECT_EQ(inv_std[size_t(k)], bn_inv_std(var[size_t(k)], g.eps)) << "channel " << k;
    EXPECT_NEAR(running_mean[size_t(k)], 0.99 * 0.5 + 0.01 * want_mean, 1e-5) << "channel " << k;
    EXPECT_NEAR(running_var[size_t(k)], 0.99 * 2.0 + 0.01 * want_var * 270.0 / 269.0, 1e-5) << "channel " << k;
  }
}

// One channel of the whole batch's values u (m = 300, xhat from the global statistics), dy of
// the global mean loss; slice 0 holds the first 100 values, and its loss is the mean over its
// own samples, so its dy is 3x the global one. Its backward pass gives
// dx_r = scale * (dy_r - dbeta_r / m_r - xhat * dgamma_r / m_r); after the adjustment, dx_r + a +
// b * (u - mean) must be 3x the whole batch's dx = scale * (dy - dbeta / M - xhat * dgamma / M)
// for those values (each rank's dx is in its own loss's units, as its dy).
TEST(BnSyncSimt, TheAdjustmentGivesTheWholeBatchsInputGradient) {
  std::mt19937 rng(9);
  constexpr size_t kM = 300, kSlice = 100;
  const double share = double(kSlice) / double(kM);  // the rank's share of the batch
  std::vector<double> u(kM), dy(kM);
  for (size_t i = 0; i < kM; ++i) u[i] = 2.0 + std::normal_distribution<double>(0.0, 1.5)(rng);
  for (size_t i = 0; i < kM; ++i) dy[i] = std::normal_distribution<double>(0.0, 1.0)(rng) / double(kM);
  double mean = 0, var = 0;
  for (double e : u) mean += e / double(kM);
  for (double e : u) var += (e - mean) * (e - mean) / double(kM);
  const float eps = 1e-3f, gamma = 1.3f, inv_std = bn_inv_std(var, eps);
  const double scale = double(gamma) * inv_std;
  auto xhat = [&](size_t i) { return (u[i] - mean) * inv_std; };
  // Both ranks' sums in their own units; the global sums in the global loss's units.
  double dbeta_r[2] = {0, 0}, dgamma_r[2] = {0, 0}, dbeta = 0, dgamma = 0;
  for (size_t i = 0; i < kM; ++i) {
    const int r = i < kSlice ? 0 : 1;
    const double units = r == 0 ? double(kM) / kSlice : double(kM) / (kM - kSlice);
    dbeta_r[r] += units * dy[i], dgamma_r[r] += units * dy[i] * xhat(i);
    dbeta += dy[i], dgamma += dy[i] * xhat(i);
  }
  std::vector<double> sums(2, 0.0);
  for (int r = 0; r < 2; ++r) {
    const float first = float(dbeta_r[r]), second = float(dgamma_r[r]);
    std::vector<double> pack(2, NAN);
    simt::launch(bn_channel_grid(1, 32), dim3(32), bn_sync_pack_kernel, 1, BnSyncPack::kGradients,
                 r == 0 ? share : 1.0 - share, eps, &first, &second, pack.data());
    sums[0] += pack[0], sums[1] += pack[1];
  }
  const float dbeta0 = float(dbeta_r[0]), dgamma0 = float(dgamma_r[0]);
  float a = NAN, b = NAN;
  simt::launch(bn_channel_grid(1, 32), dim3(32), bn_sync_adjust_kernel, 1, double(kSlice),
               static_cast<const double*>(sums.data()), &gamma, &inv_std, &dbeta0, &dgamma0, &a, &b);
  for (size_t i = 0; i < kSlice; ++i) {
    const double units = double(kM) / kSlice;
    const double slice_dx = scale * (units * dy[i] - dbeta_r[0] / kSlice - xhat(i) * dgamma_r[0] / kSlice);
    const double whole_dx = scale * (dy[i] - dbeta / kM - xhat(i) * dgamma / kM);
    EXPECT_NEAR(slice_dx + a + b * (u[i] - mean), units * whole_dx, 1e-6) << "value " << i;
  }
}

}  // namespace
}  // namespace hdr
