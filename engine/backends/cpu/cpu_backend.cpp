// The CPU backend: oneDNN (through OneDnnOps) for convolutions and GEMM, the hand-written
// kernels of kernels/cpu for everything else. One OpenMP pool, sized once here, serves both.
// Activations whose channels fill whole blocks live in the blocked layout oneDNN's convolutions
// read and write on this machine (nChw16c with AVX-512, nChw8c below: activation_layout), so
// batch norm, pooling, dropout and flatten dispatch on the layout their arguments carry to their
// blocked twins (kernels/cpu/blocked.h); everything else is plain.
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
#include "kernels/cpu/blocked.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

namespace blocked = cpu::blocked;

bool is_blocked(Layout layout) { return layout != Layout::kNchw; }

// The blocked twin of a kernel for a layout: twin(std::integral_constant<int, block width>) names it.
template <class Twin>
auto blocked_kernel(Layout layout, Twin twin) {
  return blocked::with_block(layout == Layout::kNchw8c ? 8 : 16, twin);
}

// The plain kernel, or its blocked twin.
template <class Fn, class Twin>
Fn* kernel_for(Layout layout, Fn* plain, Twin twin) {
  return is_blocked(layout) ? blocked_kernel(layout, twin) : plain;
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
    threads_ = omp_get_max_threads();
  }
  void attach_thread(int max_threads) override {
    omp_set_num_threads(max_threads > 0 ? std::min(max_threads, threads_) : threads_);
  }
  void prepare_convolution(const ConvGeometry& g, const ConvUse& use) override { dnnl_.prepare(g, use); }
  size_t plan_count() const override { return dnnl_.cached_primitives(); }
  double conv_multiply_adds(Op op, const ConvGeometry& g) const override {
    return OneDnnOps::winograd_multiply_adds(op, g);
  }

  // Main memory: arrays four times the last-level cache (STREAM's rule), from 64 to 256 MiB each;
  // the cache: 32 KiB per array and thread, 96 KiB in all, inside any L2 of 256 KiB or more.
  DevicePeaks measure_peaks() override {
    const size_t l3 = size_t(std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE)));
    const size_t dram_array = std::clamp(4 * l3, size_t(64) << 20, size_t(256) << 20),
                 cache_array = size_t(threads_) * (32 << 10);
    DevicePeaks p;
    const int lanes = widest_fp32_lanes(dnnl_.vector_lanes());
    p.fp32_gflops = measure_fp32_peak_gflops(lanes);
    p.fp32_source = fmt::format("measured: independent {}-bit FMA chains on {} thread{}, best of 20 ms samples",
                                32 * lanes, threads_, threads_ == 1 ? "" : "s");
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
  int64_t count_non_finite(const float* values, size_t count) override {
    return cpu::count_non_finite(values, int64_t(count));
  }

  Layout activation_layout(int c, int64_t spatial) const override {
    if (!blocked::is_blocked(block_, c, spatial)) return Layout::kNchw;
    return block_ == 8 ? Layout::kNchw8c : Layout::kNchw16c;
  }

 protected:
  void do_gemm(const GemmArgs& a) override {
    dnnl_.gemm(a.trans_a, a.trans_b, a.m, a.n, a.k, a.alpha, a.a, a.b, a.beta, a.c);
  }
  // The first layer's (one input channel) by hand below AVX-512 (8-channel blocks), where
  // oneDNN's kernels for it are slow (kernels/cpu/conv_one_channel_blocked.cpp); the library's
  // everywhere else, but for the inference forward into the conv block (below).
  void do_conv_forward(const ConvForwardArgs& a) override {
    if (hand_one_channel_ && blocked::OneChannelConv<8>::forward(a.g, a.x, a.w, a.bias, a.y)) return;
    dnnl_.conv_forward(a.g, a.x, a.w, a.bias, a.y);
  }
  void do_conv_backward_data(const ConvBackwardDataArgs& a) override { dnnl_.conv_backward_data(a.g, a.w, a.dy, a.dx); }
  void do_conv_backward_weights(const ConvBackwardWeightsArgs& a) override {
    if (hand_one_channel_ && blocked::OneChannelConv<8>::backward_weights(a.g, a.x, a.dy, a.dw, a.dbias)) return;
    dnnl_.conv_backward_weights(a.g, a.x, a.dy, a.dw, a.dbias);
  }

  void do_augment(const AugmentArgs& a) override {
    cpu::augment(a.params, a.key, a.images, a.h, a.w, a.indices, a.n, a.out);
  }
  void do_gather_labels(const GatherLabelsArgs& a) override { cpu::gather_labels(a.labels, a.indices, a.n, a.out); }
  void do_bn_relu_forward_train(const BnReluForwardTrainArgs& a) override {
    kernel_for(a.layout, cpu::bn_relu_forward_train, [](auto b) { return &blocked::BatchNorm<b>::forward_train; })(
        a.g, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.save_mean, a.save_inv_std, a.y);
  }
  void do_bn_relu_forward_infer(const BnReluForwardInferArgs& a) override {
    kernel_for(a.layout, cpu::bn_relu_forward_infer, [](auto b) { return &blocked::BatchNorm<b>::forward_infer; })(
        a.g, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.y);
  }
  void do_bn_relu_backward(const BnReluBackwardArgs& a) override {
    kernel_for(a.layout, cpu::bn_relu_backward, [](auto b) { return &blocked::BatchNorm<b>::backward; })(
        a.g, a.x, a.dy, a.gamma, a.beta, a.save_mean, a.save_inv_std, a.dx, a.dgamma, a.dbeta);
  }
  void do_bn_input_grad_adjust(const BnInputGradAdjustArgs& a) override {
    kernel_for(a.layout, cpu::bn_input_grad_adjust,
               [](auto b) { return &blocked::BatchNorm<b>::input_grad_adjust; })(a.g, a.x, a.mean, a.a, a.b, a.dx);
  }
  void do_bn_sync_pack(const BnSyncPackArgs& a) override {
    cpu::bn_sync_pack(a.g.c, a.kind, a.weight, a.g.eps, a.first, a.second, a.sums);
  }
  void do_bn_sync_combine(const BnSyncCombineArgs& a) override {
    cpu::bn_sync_combine(a.g, a.total, a.sums, a.running_mean, a.running_var, a.save_mean, a.save_inv_std, a.batch_var);
  }
  void do_bn_sync_adjust(const BnSyncAdjustArgs& a) override {
    cpu::bn_sync_adjust(a.g.c, double(a.g.n) * double(a.g.spatial), a.sums, a.gamma, a.inv_std, a.dbeta, a.dgamma, a.a,
                        a.b);
  }
  // Fused on blocked tensors with non-overlapping windows; otherwise the parts.
  static bool fusable(Layout layout, const PoolGeometry& p) { return is_blocked(layout) && p.stride == p.size; }
  void do_bn_relu_maxpool_forward_train(const BnReluMaxpoolForwardTrainArgs& a) override {
    if (!fusable(a.layout, a.pool)) return bn_relu_maxpool_forward_train_in_parts(a);
    blocked_kernel(a.layout, [](auto b) { return &blocked::BatchNorm<b>::maxpool_forward_train; })(
        a.bn, a.pool, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.save_mean, a.save_inv_std, a.y, a.argmax,
        a.x_max);
  }
  void do_bn_relu_maxpool_forward_infer(const BnReluMaxpoolForwardInferArgs& a) override {
    if (!fusable(a.layout, a.pool)) return bn_relu_maxpool_forward_infer_in_parts(a);
    blocked_kernel(a.layout, [](auto b) { return &blocked::BatchNorm<b>::maxpool_forward_infer; })(
        a.bn, a.pool, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.y, a.argmax, a.x_max);
  }
  void do_bn_relu_maxpool_backward(const BnReluMaxpoolBackwardArgs& a) override {
    if (!fusable(a.layout, a.pool)) return bn_relu_maxpool_backward_in_parts(a);
    blocked_kernel(a.layout, [](auto b) { return &blocked::BatchNorm<b>::maxpool_backward; })(
        a.bn, a.pool, a.x, a.dy, a.argmax, a.gamma, a.beta, a.save_mean, a.save_inv_std, a.dx, a.dgamma, a.dbeta,
        a.x_max);
  }
  // The hand-written first layer's weight gradient straight from the conv block's backward,
  // where both run by hand (kernels/cpu/blocked.h: OneChannelConv::backward_weights_through).
  void do_conv_bn_relu_maxpool_backward(const ConvBnReluMaxpoolBackwardArgs& a) override {
    const BnReluMaxpoolBackwardArgs& b = a.block;
    const blocked::PooledBnBackward in{b.bn,    b.pool, b.x,         b.dy,           b.argmax,
                                       b.gamma, b.beta, b.save_mean, b.save_inv_std, b.x_max};
    if (hand_one_channel_ && fusable(b.layout, b.pool) &&
        blocked::OneChannelConv<8>::backward_weights_through(a.conv.g, a.conv.x, in, a.conv.dw, a.conv.dbias, b.dgamma,
                                                             b.dbeta))
      return;
    conv_bn_relu_maxpool_backward_in_parts(a);
  }
  // The first layer's output taken through the conv block tile by tile, never stored
  // (kernels/cpu/blocked.h: OneChannelConv::forward_through), in either block width: on
  // AVX-512 too, where oneDNN runs the convolution alone faster, so that there the logits differ
  // from the two ops' in the last bits (another order of the sums).
  void do_conv_bn_relu_maxpool_forward_infer(const ConvBnReluMaxpoolForwardInferArgs& a) override {
    const BnReluMaxpoolForwardInferArgs& b = a.block;
    const blocked::PooledBnInfer in{b.bn, b.pool, b.gamma, b.beta, b.running_mean, b.running_var, b.y, b.argmax};
    if (fusable(b.layout, b.pool) && !b.x_max && blocked_kernel(b.layout, [](auto w) {
          return &blocked::OneChannelConv<w>::forward_through;
        })(a.conv.g, a.conv.x, a.conv.w, a.conv.bias, in))
      return;
    conv_bn_relu_maxpool_forward_infer_in_parts(a);
  }
  void do_relu_forward(const ReluForwardArgs& a) override { cpu::relu_forward(a.count, a.x, a.y); }
  void do_relu_backward(const ReluBackwardArgs& a) override { cpu::relu_backward(a.count, a.y, a.dy, a.dx); }
  void do_bias_add(const BiasAddArgs& a) override { cpu::bias_add(a.rows, a.cols, a.bias, a.y); }
  void do_bias_grad(const BiasGradArgs& a) override { cpu::bias_grad(a.rows, a.cols, a.dy, a.db); }
  void do_dropout_forward(const DropoutForwardArgs& a) override {
    const ActivationShape& s = a.shape;
    kernel_for(s.layout, cpu::dropout_forward, [](auto b) { return &blocked::Dropout<b>::forward; })(
        a.rate, a.key, a.first_sample, s.n, s.c, s.spatial, a.x, a.y, a.keep_bits);
  }
  void do_dropout_backward(const DropoutBackwardArgs& a) override {
    const ActivationShape& s = a.shape;
    cpu::dropout_backward(a.rate, a.key, a.first_sample, s.n, s.c, s.spatial, a.keep_bits, a.dy, a.dx);
  }
  void do_flatten_forward(const FlattenForwardArgs& a) override {
    const ActivationShape& s = a.shape;
    if (is_blocked(s.layout))
      blocked_kernel(s.layout, [](auto b) { return &blocked::Reorder<b>::to_nchw; })(s.n, s.c, s.spatial, a.x, a.y);
    else
      std::memcpy(a.y, a.x, size_t(s.count()) * sizeof(float));
  }
  void do_flatten_backward(const FlattenBackwardArgs& a) override {
    const ActivationShape& s = a.shape;
    if (is_blocked(s.layout))
      blocked_kernel(s.layout, [](auto b) { return &blocked::Reorder<b>::from_nchw; })(s.n, s.c, s.spatial, a.dy, a.dx);
    else
      std::memcpy(a.dx, a.dy, size_t(s.count()) * sizeof(float));
  }
  void do_maxpool_forward(const MaxpoolForwardArgs& a) override {
    kernel_for(a.layout, cpu::maxpool_forward, [](auto b) { return &blocked::MaxPool<b>::forward; })(a.g, a.x, a.y,
                                                                                                     a.argmax);
  }
  void do_maxpool_backward(const MaxpoolBackwardArgs& a) override {
    kernel_for(a.layout, cpu::maxpool_backward, [](auto b) { return &blocked::MaxPool<b>::backward; })(a.g, a.dy,
                                                                                                       a.argmax, a.dx);
  }
  void do_softmax_xent(const SoftmaxXentArgs& a) override {
    cpu::softmax_xent(a.n, a.classes, a.logits, a.labels, a.smoothing, a.dlogits, a.metrics);
  }
  void do_softmax(const SoftmaxArgs& a) override { cpu::softmax(a.n, a.classes, a.logits, a.probs); }
  void do_evaluate_batch(const EvaluateBatchArgs& a) override {
    cpu::evaluate_batch(a.n, a.classes, a.logits, a.labels, a.confusion, a.metrics);
  }
  void do_optimizer_update(const OptimizerUpdateArgs& a) override {
    cpu::optimizer_update(a.p, a.lr, a.step, a.segments, a.num_segments, a.params, a.grads, a.m, a.v);
  }
  void do_weight_average(const WeightAverageArgs& a) override {
    cpu::weight_average(a.count, a.decay, a.params, a.average);
  }

 private:
  int threads_ = 1;
  OneDnnOps dnnl_;
  const int block_ = dnnl_.activation_block();  // channels per block of the blocked layout
  const bool hand_one_channel_ = block_ == 8;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace hdr
