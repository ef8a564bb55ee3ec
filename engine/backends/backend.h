// The interface the layers call. A backend owns device memory and runs every op of a training
// step on its device; the CPU backend (oneDNN + kernels/cpu) and the CUDA backend (cuDNN,
// cuBLAS + kernels/*.cu) implement it with the same semantics, so results can be compared op
// by op. Pointers passed to an op live on the backend's device. The ops and their arguments are
// declared once, in engine/backends/backend_ops.h and backend_args.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/backend_args.h"
#include "engine/backends/backend_ops.h"
#include "engine/distributed/gradient_exchange.h"
#include "kernels/types.h"

namespace hdr {

class Communicator;

// How a model will use a convolution geometry, so that a backend plans only what runs.
struct ConvUse {
  bool bias = true;         // forward adds a bias; backward-weights writes its gradient
  bool backward = false;    // training: backward-weights
  bool input_grad = false;  // training, past the first layer: backward-data
};

// Device time of ops, for profiles (engine/profile/profiling_backend.h): start() and stop() bracket one
// op as the device runs it, without waiting for it; collect() waits for the device and returns
// the seconds of each interval since the last collect, in order.
class OpTimer {
 public:
  virtual ~OpTimer() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual std::vector<double> collect() = 0;
};

// The roofs a profile's ops are set against, each with where its figure comes from.
struct DevicePeaks {
  double fp32_gflops = 0;  // FMA throughput
  std::string fp32_source;
  double memory_gbs = 0;  // main memory (DRAM / HBM)
  std::string memory_source;
  double cache_gbs = 0;  // a working set that fits the L2 cache; 0 where not measured
  std::string cache_source;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu (oneDNN 2.6.3, 2 threads)", "cuda:0 (NVIDIA H100 ...)"

  // Memory. allocate() is for set-up only: nothing allocates inside the step loop.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p) = 0;
  virtual void upload(void* device_dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* device_src, size_t bytes) = 0;
  virtual void fill_zero(void* p, size_t bytes) = 0;
  virtual void synchronize() {}
  // How many of values[0, count) (on the device) are NaN or infinite: the training loop's scan
  // of the weights and gradients for a divergence, without copying them to the host. The default
  // downloads and counts.
  virtual int64_t count_non_finite(const float* values, size_t count);
  // Makes the calling thread compute as this backend is set up to (the CPU backend: its OpenMP
  // thread count, which is per thread, or at most max_threads of them when that is above 0;
  // CUDA: its device and stream). A thread other than the one that made the backend calls it
  // before the first op.
  virtual void attach_thread(int max_threads) { (void)max_threads; }

  // Plans made ahead: a model calls these for every shape it will run (Model::prepare, before a
  // run's first step), so that a backend creates its convolution primitives or algorithms and
  // its scratch then, not inside the first step, evaluation or partial batch. An op whose
  // shape was never prepared still works: it plans at its first call.
  virtual void prepare_convolution(const ConvGeometry&, const ConvUse&) {}
  virtual void prepare_batch_norm(const BatchNormGeometry&) {}
  // The plans held (one per convolution primitive, or per cuDNN geometry): a test checks that the
  // steps of a prepared model add none.
  virtual size_t plan_count() const { return 0; }

  // The multiply-adds a convolution pass (op: conv_forward, conv_backward_data or
  // conv_backward_weights) performs here where the backend runs it by an algorithm with fewer
  // than the direct sum's (Winograd on AVX2 CPUs): the profiler's cost of the op, so that its
  // GFLOP/s stay below the peak. 0 where it runs the direct sum or cannot tell (cuDNN chooses
  // its own).
  virtual double conv_multiply_adds(Op op, const ConvGeometry& g) const {
    (void)op;
    (void)g;
    return 0;
  }

  // Profiling. The default timer reads the host clock between synchronize() calls: exact for a
  // backend whose ops return finished (the CPU's); the CUDA backend records events instead.
  virtual std::unique_ptr<OpTimer> make_op_timer();
  // Benchmarks: evicts what the device's caches hold (the GPU's L2), so the next op starts cold.
  virtual void flush_caches() {}
  // Measures (or, where it cannot, reads from the device) the peaks above: takes about a second.
  virtual DevicePeaks measure_peaks() = 0;

  // Data-parallel runs: how this backend's gradients are summed over the ranks
  // (engine/distributed/gradient_exchange.h). The default goes through the host and the communicator; the
  // CUDA backend uses NCCL where the build has it.
  virtual std::unique_ptr<GradientExchange> make_gradient_exchange(Communicator& communicator);

  // How this backend lays out activations of c channels x spatial positions (backend_args.h):
  // asked once per shape when a model is built, then passed to every op that sees them.
  virtual Layout activation_layout(int c, int64_t spatial) const = 0;

  // The ops, one per line of engine/backends/backend_ops.h: `void gemm(const GemmArgs& a)`, ...
  // Each runs the backend's do_<op> between op_begin and op_end where the backend asked for
  // them (observe_ops); nothing else, so a call costs one virtual dispatch.
#define HDR_BACKEND_PUBLIC_OP(name, Args, ...) \
  void name(const Args& a) {                   \
    const OpBracket bracket(*this, Op::name);  \
    do_##name(a);                              \
  }
  HDR_BACKEND_OPS(HDR_BACKEND_PUBLIC_OP)
#undef HDR_BACKEND_PUBLIC_OP

 protected:
  // Each backend implements every op: no defaults, so no wrapper can forget one and silently
  // run a default instead.
#define HDR_BACKEND_VIRTUAL_OP(name, Args, ...) virtual void do_##name(const Args& a) = 0;
  HDR_BACKEND_OPS(HDR_BACKEND_VIRTUAL_OP)
#undef HDR_BACKEND_VIRTUAL_OP

  // A backend that needs to act around every op (the CUDA one: make its device and stream
  // current, open an NVTX range named op_name(op)) calls observe_ops() once, then overrides these.
  void observe_ops() { observes_ops_ = true; }
  virtual void op_begin(Op) {}
  virtual void op_end(Op) {}

  // The fused conv-block ops as their two parts, through bn_out / d_bn_out: for a backend that
  // does not fuse a geometry.
  void bn_relu_maxpool_forward_train_in_parts(const BnReluMaxpoolForwardTrainArgs& a);
  void bn_relu_maxpool_forward_infer_in_parts(const BnReluMaxpoolForwardInferArgs& a);
  void bn_relu_maxpool_backward_in_parts(const BnReluMaxpoolBackwardArgs& a);
  void conv_bn_relu_maxpool_backward_in_parts(const ConvBnReluMaxpoolBackwardArgs& a);
  void conv_bn_relu_maxpool_forward_infer_in_parts(const ConvBnReluMaxpoolForwardInferArgs& a);

 private:
  class OpBracket {
   public:
    OpBracket(Backend& backend, Op op) : backend_(backend.observes_ops_ ? &backend : nullptr), op_(op) {
      if (backend_) backend_->op_begin(op);
    }
    ~OpBracket() {
      if (backend_) backend_->op_end(op_);
    }
    OpBracket(const OpBracket&) = delete;
    OpBracket& operator=(const OpBracket&) = delete;

   private:
    Backend* backend_;
    Op op_;
  };
  bool observes_ops_ = false;
};

// The CPU backend: oneDNN for convolutions and GEMM, kernels/cpu for the rest, one OpenMP pool
// of `threads` threads (0: all cores) shared by both.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);

// The CUDA backend on GPU `device` (cuDNN, cuBLAS, kernels/*.cu). Throws InputError with one line
// naming the reason when there is no usable GPU, or when this build has no CUDA backend.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace hdr
