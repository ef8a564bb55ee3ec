// The CPU backend: oneDNN (through OneDnnOps) for convolutions and GEMM, the hand-written
// kernels of kernels/cpu for everything else. One OpenMP pool, sized once here, serves both.
// Activations with a multiple of 16 channels live in oneDNN's nChw16c layout (what its AVX-512
// convolutions read and write), so batch norm, pooling and dropout dispatch to their nChw16c
// twins for those; everything else is plain NCHW.
#include <fmt/format.h>
#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/backends/backend.h"
#include "engine/backends/cpu/onednn_ops.h"
#include "engine/backends/machine_peak.h"
#include "kernels/cpu/nchw16c.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

namespace nchw16c = cpu::nchw16c;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
    threads_ = omp_get_max_threads();
  }
  void attach_thread() override { omp_set_num_threads(threads_); }
  void prepare_convolution(const ConvGeometry& g, const ConvUse& use) override { dnnl_.prepare(g, use); }
  size_t plan_count() const override { return dnnl_.cached_primitives(); }

  // Main memory: arrays four times the last-level cache (STREAM's rule), from 64 to 256 MiB each;
  // the cache: 32 KiB per array and thread, 96 KiB in all, inside any L2 of 256 KiB or more.
  DevicePeaks measure_peaks() override {
    const size_t l3 = size_t(std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE)));
    const size_t dram_array = std::clamp(4 * l3, size_t(64) << 20, size_t(256) << 20), cache_array = size_t(threads_) * (32 << 10);
    DevicePeaks p;
    p.fp32_gflops = measure_fp32_peak_gflops();
    p.fp32_source = fmt::format("measured: independent FMA chains on {} thread{}", threads_, threads_ == 1 ? "" : "s");
    p.memory_gbs = measure_triad_gbs(dram_array);
    p.memory_source = fmt::format("measured: STREAM triad, 3 x {} MiB", dram_array >> 20);
    p.cache_gbs = measure_triad_gbs(cache_array);
    p.cache_source = fmt::format("measured: STREAM triad, 3 x {} KiB (fits L2)", cache_array >> 10);
    return p;
  }

  std::string name() const override {
    return fmt::format("cpu (oneDNN {}, {} thread{})", dnnl_.version(), threads_, threads_ == 1 ? "" : "s");
  }

  void* allocate(size_t bytes) override {
    constexpr size_t kAlign = 64;  // one cache line, one AVX-512 vector
    void* p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p) override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void fill_zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b,
            float beta, float* c) override {
    dnnl_.gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  }
  void conv_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) override {
    dnnl_.conv_forward(g, x, w, bias, y);
  }
  void conv_backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) override {
    dnnl_.conv_backward_data(g, w, dy, dx);
  }
  void conv_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                             float* dbias) override {
    dnnl_.conv_backward_weights(g, x, dy, dw, dbias);
  }

  void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w,
               const int32_t* indices, int n, float* out) override {
    cpu::augment(p, key, images, h, w, indices, n, out);
  }
  void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) override {
    cpu::gather_labels(labels, indices, n, out);
  }
  void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                             float* running_mean, float* running_var, float* save_mean, float* save_inv_std,
                             float* y) override {
    if (nchw16c::is_blocked(g.c, g.spatial))
      nchw16c::bn_relu_forward_train(g, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std, y);
    else
      cpu::bn_relu_forward_train(g, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std, y);
  }
  void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y) override {
    if (nchw16c::is_blocked(g.c, g.spatial))
      nchw16c::bn_relu_forward_infer(g, x, gamma, beta, running_mean, running_var, y);
    else
      cpu::bn_relu_forward_infer(g, x, gamma, beta, running_mean, running_var, y);
  }
  void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                        const float* beta, const float* save_mean, const float* save_inv_std, float* dx,
                        float* dgamma, float* dbeta) override {
    if (nchw16c::is_blocked(g.c, g.spatial))
      nchw16c::bn_relu_backward(g, x, dy, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
    else
      cpu::bn_relu_backward(g, x, dy, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
  }
  // Fused on nChw16c tensors with non-overlapping windows; otherwise the parts (Backend's default).
  void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a,
                            const float* b, float* dx) override {
    if (nchw16c::is_blocked(g.c, g.spatial))
      nchw16c::bn_input_grad_adjust(g, x, mean, a, b, dx);
    else
      cpu::bn_input_grad_adjust(g, x, mean, a, b, dx);
  }
  static bool fusable(const BatchNormGeometry& g, const PoolGeometry& p) {
    return nchw16c::is_blocked(g.c, g.spatial) && p.stride == p.size;
  }
  void bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                     const float* gamma, const float* beta, float* running_mean, float* running_var,
                                     float* save_mean, float* save_inv_std, float* bn_out, float* y,
                                     int32_t* argmax) override {
    if (!fusable(g, p))
      return Backend::bn_relu_maxpool_forward_train(g, p, x, gamma, beta, running_mean, running_var, save_mean,
                                                    save_inv_std, bn_out, y, argmax);
    nchw16c::bn_relu_maxpool_forward_train(g, p, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std,
                                           y, argmax);
  }
  void bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                     const float* gamma, const float* beta, const float* running_mean,
                                     const float* running_var, float* bn_out, float* y, int32_t* argmax) override {
    if (!fusable(g, p))
      return Backend::bn_relu_maxpool_forward_infer(g, p, x, gamma, beta, running_mean, running_var, bn_out, y,
                                                    argmax);
    nchw16c::bn_relu_maxpool_forward_infer(g, p, x, gamma, beta, running_mean, running_var, y, argmax);
  }
  void bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, const float* dy,
                                const int32_t* argmax, const float* gamma, const float* beta, const float* save_mean,
                                const float* save_inv_std, float* d_bn_out, float* dx, float* dgamma,
                                float* dbeta) override {
    if (!fusable(g, p))
      return Backend::bn_relu_maxpool_backward(g, p, x, dy, argmax, gamma, beta, save_mean, save_inv_std, d_bn_out,
                                               dx, dgamma, dbeta);
    nchw16c::bn_relu_maxpool_backward(g, p, x, dy, argmax, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
  }
  void relu_forward(int64_t count, const float* x, float* y) override { cpu::relu_forward(count, x, y); }
  void relu_backward(int64_t count, const float* y, const float* dy, float* dx) override {
    cpu::relu_backward(count, y, dy, dx);
  }
  void bias_add(int rows, int cols, const float* bias, float* y) override { cpu::bias_add(rows, cols, bias, y); }
  void bias_grad(int rows, int cols, const float* dy, float* db) override { cpu::bias_grad(rows, cols, dy, db); }
  void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                       const float* x, float* y) override {
    if (nchw16c::is_blocked(c, spatial))
      nchw16c::dropout_forward(rate, key, first_sample, n, c, spatial, x, y);
    else
      cpu::dropout_forward(rate, key, first_sample, n, int(c * spatial), x, y);
  }
  void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                        const float* dy, float* dx) override {
    if (nchw16c::is_blocked(c, spatial))
      nchw16c::dropout_backward(rate, key, first_sample, n, c, spatial, dy, dx);
    else
      cpu::dropout_backward(rate, key, first_sample, n, int(c * spatial), dy, dx);
  }
  void flatten_forward(int n, int c, int64_t spatial, const float* x, float* y) override {
    if (nchw16c::is_blocked(c, spatial))
      nchw16c::to_nchw(n, c, spatial, x, y);
    else
      std::memcpy(y, x, size_t(n) * size_t(c) * size_t(spatial) * sizeof(float));
  }
  void flatten_backward(int n, int c, int64_t spatial, const float* dy, float* dx) override {
    if (nchw16c::is_blocked(c, spatial))
      nchw16c::from_nchw(n, c, spatial, dy, dx);
    else
      std::memcpy(dx, dy, size_t(n) * size_t(c) * size_t(spatial) * sizeof(float));
  }
  void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) override {
    if (nchw16c::is_blocked(g.c, int64_t(g.h) * g.w))
      nchw16c::maxpool_forward(g, x, y, argmax);
    else
      cpu::maxpool_forward(g, x, y, argmax);
  }
  void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) override {
    if (nchw16c::is_blocked(g.c, int64_t(g.h) * g.w))
      nchw16c::maxpool_backward(g, dy, argmax, dx);
    else
      cpu::maxpool_backward(g, dy, argmax, dx);
  }
  void softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing, float* dlogits,
                    double* metrics) override {
    cpu::softmax_xent(n, classes, logits, labels, smoothing, dlogits, metrics);
  }
  void softmax(int n, int classes, const float* logits, float* probs) override {
    cpu::softmax(n, classes, logits, probs);
  }
  void evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels, int64_t* confusion,
                      double* metrics) override {
    cpu::evaluate_batch(n, classes, logits, labels, confusion, metrics);
  }
  void optimizer_update(const OptimizerParams& p, float lr, int64_t step, const ParamSegment* segments,
                        int num_segments, float* params, const float* grads, float* m, float* v) override {
    cpu::optimizer_update(p, lr, step, segments, num_segments, params, grads, m, v);
  }
  void weight_average(int64_t count, float decay, const float* params, float* average) override {
    cpu::weight_average(count, decay, params, average);
  }

 private:
  int threads_ = 1;
  OneDnnOps dnnl_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace hdr
