// The CUDA backend: cuDNN for convolutions, cuBLAS for GEMM, the hand-written kernels of
// kernels/*.cu (hdr::cuda::X) for everything else, all on one non-blocking stream, memory from
// a caching allocator. Each op is an NVTX range, so an Nsight Systems timeline reads as the
// training step. The device and the stream belong to the backend object: every op makes them
// current for the calling thread first, so backends on different devices work side by side.
//
// Construction is where "is there a usable GPU" is answered: a missing driver, a device index
// out of range, or a cuDNN/cuBLAS handle that cannot be created is an InputError with one line
// naming the reason (the CLI maps it to exit code 2). After that, every CUDA, cuDNN and cuBLAS
// call is checked and a failure throws std::runtime_error naming the call, file and line.
//
// Numerics match the CPU backend to fp32 rounding: cuBLAS in its default (non-TF32) math mode,
// cuDNN with CUDNN_FMA_MATH.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <fmt/format.h>
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/cuda/caching_allocator.h"
#include "engine/backends/cuda/cublas_library.h"
#include "engine/backends/cuda/cuda_errors.h"
#include "engine/backends/cuda/cudnn_convolutions.h"
#ifdef HDR_WITH_NCCL
#include "engine/backends/cuda/nccl/nccl_exchange.h"
#endif
#include "engine/core/errors.h"
#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

using cuda::cublas;

// One NVTX range for the lifetime of the object.
class NvtxRange {
 public:
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// The stream and the library handles, each released by its own destructor, so that a
// constructor failing half-way leaks nothing.
struct Stream {
  cudaStream_t s = nullptr;
  ~Stream() {
    if (s) cudaStreamDestroy(s);
  }
};
struct CudnnHandle {
  cudnnHandle_t h = nullptr;
  ~CudnnHandle() {
    if (h) cudnnDestroy(h);
  }
};
struct CublasHandle {
  cublasHandle_t h = nullptr;
  ~CublasHandle() {
    if (h) cublas().destroy(h);
  }
};

// cuBLAS's own workspace, handed to it from our allocator so that it never allocates in the
// step loop (NVIDIA recommends 32 MiB on Hopper, 4 MiB before).
constexpr size_t kCublasWorkspace = size_t(32) << 20;

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    // Messages name the reason only: the caller knows which device it asked for.
    int count = 0;
    if (const cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess || count == 0)
      throw InputError(no_usable_gpu(err));
    if (device < 0 || device >= count)
      throw InputError(fmt::format("no GPU cuda:{} ({} present: cuda:0{})", device, count,
                                   count > 1 ? fmt::format("..cuda:{}", count - 1) : ""));
    if (const cudaError_t err = cudaSetDevice(device); err != cudaSuccess) throw InputError(no_usable_gpu(err));
    cudaDeviceProp prop{};
    HDR_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    device_name_ = prop.name;
    if (const std::string why = cuda::kernel_image_error(); !why.empty())
      throw InputError(fmt::format("no usable GPU ({}, sm_{}{}, cannot run hdr's kernels: {}; this build has code for "
                                   "{}: rebuild with -DCMAKE_CUDA_ARCHITECTURES={}{})",
                                   prop.name, prop.major, prop.minor, why, HDR_CUDA_ARCHITECTURES, prop.major,
                                   prop.minor));

    HDR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_.s, cudaStreamNonBlocking));
    if (const cudnnStatus_t st = cudnnCreate(&cudnn_.h); st != CUDNN_STATUS_SUCCESS) {
      cudnn_.h = nullptr;
      throw InputError(fmt::format("no usable GPU (cudnnCreate: {})", cudnnGetErrorString(st)));
    }
    if (const cublasStatus_t st = cublas().create(&cublas_.h); st != CUBLAS_STATUS_SUCCESS) {
      cublas_.h = nullptr;
      throw InputError(
          fmt::format("no usable GPU (cublasCreate: {}: {})", cublas().status_name(st), cublas().status_string(st)));
    }
    HDR_CUDNN_CHECK(cudnnSetStream(cudnn_.h, stream_.s));
    HDR_CUBLAS_CHECK(cublas().set_stream(cublas_.h, stream_.s));  // resets the workspace: set it after
    cublas_workspace_ = allocator_.allocate(kCublasWorkspace);
    HDR_CUBLAS_CHECK(cublas().set_workspace(cublas_.h, cublas_workspace_, kCublasWorkspace));
    HDR_CUBLAS_CHECK(cublas().set_math_mode(cublas_.h, CUBLAS_DEFAULT_MATH));
    convolutions_.emplace(cudnn_.h, allocator_);
    observe_ops();
    const size_t v = cudnnGetVersion();  // 91900 for 9.19.0
    cudnn_version_ = fmt::format("{}.{}.{}", v / 10000, v / 100 % 100, v % 100);
  }

  ~CudaBackend() override {
    cudaSetDevice(device_);            // the memory, handles and stream about to go are this device's
    cudaStreamSynchronize(stream_.s);  // nothing may still use memory that is about to be freed
    if (cuda::stream() == stream_.s) {
      cuda::set_stream(nullptr);
      cuda::set_scratch(nullptr, 0);
    }
    convolutions_.reset();
    allocator_.deallocate(cublas_workspace_);
  }

  std::string name() const override {
    return fmt::format("cuda:{} ({}, cuDNN {})", device_, device_name_, cudnn_version_);
  }
  void attach_thread(int) override { bind(); }
  void prepare_convolution(const ConvGeometry& g, const ConvUse&) override {
    bind();
    convolutions_->prepare(g);  // one plan holds all three algorithms
  }
  void prepare_batch_norm(const BatchNormGeometry& g) override {
    bind();
    reserve_scratch(cuda::bn_relu_scratch_bytes(g));
  }
  size_t plan_count() const override { return convolutions_->plan_count(); }

  std::unique_ptr<OpTimer> make_op_timer() override { return std::make_unique<EventTimer>(*this); }
  // Writing twice the L2's size through it leaves nothing of an op's data there.
  void flush_caches() override {
    bind();
    if (!flush_.data()) flush_.reserve(2 * size_t(attribute(cudaDevAttrL2CacheSize)));
    HDR_CUDA_CHECK(cudaMemsetAsync(flush_.data(), 0, flush_.bytes(), stream_.s));
  }
  DevicePeaks measure_peaks() override;
#ifdef HDR_WITH_NCCL
  std::unique_ptr<GradientExchange> make_gradient_exchange(Communicator& communicator) override {
    bind();
    return cuda::make_nccl_exchange(device_, stream_.s, communicator);
  }
#endif

  void* allocate(size_t bytes) override {
    bind();
    return allocator_.allocate(bytes);
  }
  void deallocate(void* p) override {
    bind();
    allocator_.deallocate(p);
  }
  void upload(void* dst, const void* src, size_t bytes) override {
    const Transfer transfer(*this, "upload");
    HDR_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_.s));
    HDR_CUDA_CHECK(cudaStreamSynchronize(stream_.s));  // the host buffer may go away on return
  }
  void download(void* dst, const void* src, size_t bytes) override {
    const Transfer transfer(*this, "download");
    HDR_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_.s));
    HDR_CUDA_CHECK(cudaStreamSynchronize(stream_.s));
  }
  void fill_zero(void* p, size_t bytes) override {
    bind();
    HDR_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_.s));
  }
  void synchronize() override {
    bind();
    HDR_CUDA_CHECK(cudaStreamSynchronize(stream_.s));
  }
  int64_t count_non_finite(const float* values, size_t count) override {
    const Transfer transfer(*this, "count_non_finite");
    return cuda::count_non_finite(values, int64_t(count));
  }

  Layout activation_layout(int, int64_t) const override { return Layout::kNchw; }

 protected:
  // Every op (Backend's public ones, engine/backends/backend_ops.h) starts here: this backend's
  // device and stream made current, and an NVTX range named after the op.
  void op_begin(Op op) override {
    bind();
    nvtxRangePushA(op_name(op));
  }
  void op_end(Op) override { nvtxRangePop(); }

  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a row-major matrix read
  // column-major is its transpose: so cuBLAS gets B first, A second, with m and n swapped.
  void do_gemm(const GemmArgs& a) override {
    const int lda = a.trans_a ? a.m : a.k, ldb = a.trans_b ? a.k : a.n;
    HDR_CUBLAS_CHECK(cublas().sgemm(cublas_.h, a.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    a.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, a.n, a.m, a.k, &a.alpha, a.b, ldb, a.a, lda,
                                    &a.beta, a.c, a.n));
  }
  void do_conv_forward(const ConvForwardArgs& a) override { convolutions_->forward(a.g, a.x, a.w, a.bias, a.y); }
  void do_conv_backward_data(const ConvBackwardDataArgs& a) override {
    convolutions_->backward_data(a.g, a.w, a.dy, a.dx);
  }
  void do_conv_backward_weights(const ConvBackwardWeightsArgs& a) override {
    convolutions_->backward_weights(a.g, a.x, a.dy, a.dw, a.dbias);
  }

  void do_augment(const AugmentArgs& a) override {
    cuda::augment(a.params, a.key, a.images, a.h, a.w, a.indices, a.n, a.out);
  }
  void do_gather_labels(const GatherLabelsArgs& a) override { cuda::gather_labels(a.labels, a.indices, a.n, a.out); }
  void do_bn_relu_forward_train(const BnReluForwardTrainArgs& a) override {
    reserve_scratch(cuda::bn_relu_scratch_bytes(a.g));
    cuda::bn_relu_forward_train(a.g, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.save_mean, a.save_inv_std,
                                a.y);
  }
  void do_bn_relu_forward_infer(const BnReluForwardInferArgs& a) override {
    reserve_scratch(cuda::bn_relu_scratch_bytes(a.g));
    cuda::bn_relu_forward_infer(a.g, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.y);
  }
  void do_bn_relu_backward(const BnReluBackwardArgs& a) override {
    reserve_scratch(cuda::bn_relu_scratch_bytes(a.g));
    cuda::bn_relu_backward(a.g, a.x, a.dy, a.gamma, a.beta, a.save_mean, a.save_inv_std, a.dx, a.dgamma, a.dbeta);
  }
  void do_bn_input_grad_adjust(const BnInputGradAdjustArgs& a) override {
    cuda::bn_input_grad_adjust(a.g, a.x, a.mean, a.a, a.b, a.dx);
  }
  void do_bn_sync_pack(const BnSyncPackArgs& a) override {
    cuda::bn_sync_pack(a.g.c, a.kind, a.weight, a.g.eps, a.first, a.second, a.sums);
  }
  void do_bn_sync_combine(const BnSyncCombineArgs& a) override {
    cuda::bn_sync_combine(a.g, a.total, a.sums, a.running_mean, a.running_var, a.save_mean, a.save_inv_std,
                          a.batch_var);
  }
  void do_bn_sync_adjust(const BnSyncAdjustArgs& a) override {
    cuda::bn_sync_adjust(a.g.c, double(a.g.n) * double(a.g.spatial), a.sums, a.gamma, a.inv_std, a.dbeta, a.dgamma, a.a,
                         a.b);
  }
  // The conv block fused (kernels/bn_relu_maxpool.cuh), any pooling geometry: bn_out and
  // d_bn_out stay unused.
  void do_bn_relu_maxpool_forward_train(const BnReluMaxpoolForwardTrainArgs& a) override {
    reserve_scratch(cuda::bn_relu_scratch_bytes(a.bn));
    cuda::bn_relu_maxpool_forward_train(a.bn, a.pool, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.save_mean,
                                        a.save_inv_std, a.y, a.argmax);
  }
  void do_bn_relu_maxpool_forward_infer(const BnReluMaxpoolForwardInferArgs& a) override {
    reserve_scratch(cuda::bn_relu_scratch_bytes(a.bn));
    cuda::bn_relu_maxpool_forward_infer(a.bn, a.pool, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.y,
                                        a.argmax);
  }
  void do_bn_relu_maxpool_backward(const BnReluMaxpoolBackwardArgs& a) override {
    reserve_scratch(cuda::bn_relu_scratch_bytes(a.bn));
    cuda::bn_relu_maxpool_backward(a.bn, a.pool, a.x, a.dy, a.argmax, a.gamma, a.beta, a.save_mean, a.save_inv_std,
                                   a.dx, a.dgamma, a.dbeta);
  }
  // cuDNN computes the weight gradient from the stored conv-block gradient.
  void do_conv_bn_relu_maxpool_backward(const ConvBnReluMaxpoolBackwardArgs& a) override {
    conv_bn_relu_maxpool_backward_in_parts(a);
  }
  void do_conv_bn_relu_maxpool_forward_infer(const ConvBnReluMaxpoolForwardInferArgs& a) override {
    conv_bn_relu_maxpool_forward_infer_in_parts(a);
  }
  void do_relu_forward(const ReluForwardArgs& a) override { cuda::relu_forward(a.count, a.x, a.y); }
  void do_relu_backward(const ReluBackwardArgs& a) override { cuda::relu_backward(a.count, a.y, a.dy, a.dx); }
  void do_bias_add(const BiasAddArgs& a) override { cuda::bias_add(a.rows, a.cols, a.bias, a.y); }
  void do_bias_grad(const BiasGradArgs& a) override { cuda::bias_grad(a.rows, a.cols, a.dy, a.db); }
  void do_dropout_forward(const DropoutForwardArgs& a) override {
    cuda::dropout_forward(a.rate, a.key, a.first_sample, a.shape.n, a.shape.c, a.shape.spatial, a.x, a.y, a.keep_bits);
  }
  void do_dropout_backward(const DropoutBackwardArgs& a) override {
    cuda::dropout_backward(a.rate, a.key, a.first_sample, a.shape.n, a.shape.c, a.shape.spatial, a.keep_bits, a.dy,
                           a.dx);
  }
  // Activations are plain NCHW here: flattening is a copy (none when in place).
  void do_flatten_forward(const FlattenForwardArgs& a) override { copy(a.y, a.x, size_t(a.shape.count())); }
  void do_flatten_backward(const FlattenBackwardArgs& a) override { copy(a.dx, a.dy, size_t(a.shape.count())); }
  void do_maxpool_forward(const MaxpoolForwardArgs& a) override { cuda::maxpool_forward(a.g, a.x, a.y, a.argmax); }
  void do_maxpool_backward(const MaxpoolBackwardArgs& a) override { cuda::maxpool_backward(a.g, a.dy, a.argmax, a.dx); }
  void do_softmax_xent(const SoftmaxXentArgs& a) override {
    cuda::softmax_xent(a.n, a.classes, a.logits, a.labels, a.smoothing, a.dlogits, a.metrics);
  }
  void do_softmax(const SoftmaxArgs& a) override { cuda::softmax(a.n, a.classes, a.logits, a.probs); }
  void do_evaluate_batch(const EvaluateBatchArgs& a) override {
    cuda::evaluate_batch(a.n, a.classes, a.logits, a.labels, a.confusion, a.metrics);
  }
  void do_optimizer_update(const OptimizerUpdateArgs& a) override {
    cuda::optimizer_update(a.p, a.lr, a.step, a.segments, a.num_segments, a.params, a.grads, a.m, a.v);
  }
  void do_weight_average(const WeightAverageArgs& a) override {
    cuda::weight_average(a.count, a.decay, a.params, a.average);
  }

 private:
  // Makes this backend's device, stream and scratch the calling thread's (all are per thread:
  // CUDA's current device, and the stream and scratch of the hdr::cuda ops, kernels/stream.cu).
  void bind() const {
    int current = -1;
    HDR_CUDA_CHECK(cudaGetDevice(&current));
    if (current != device_) HDR_CUDA_CHECK(cudaSetDevice(device_));
    cuda::set_stream(stream_.s);
    cuda::set_scratch(scratch_.data(), scratch_.bytes());
  }
  // Grows the ops' scratch to at least `bytes` (at prepare time, or at the first use of an
  // unprepared shape) and binds it.
  void reserve_scratch(size_t bytes) {
    if (scratch_.reserve(bytes)) cuda::set_scratch(scratch_.data(), scratch_.bytes());
  }
  // The start of a copy between host and device: bind(), and an NVTX range named after it.
  class Transfer {
   public:
    Transfer(const CudaBackend& backend, const char* name) : range_(name) { backend.bind(); }

   private:
    NvtxRange range_;
  };

  int attribute(cudaDeviceAttr a) const {
    int v = 0;
    HDR_CUDA_CHECK(cudaDeviceGetAttribute(&v, a, device_));
    return v;
  }

  // A pair of CUDA events on the backend's stream around each op; the pool is reused after
  // every collect().
  class EventTimer final : public OpTimer {
   public:
    explicit EventTimer(const CudaBackend& backend) : backend_(backend) {}
    ~EventTimer() override {
      for (cudaEvent_t e : events_) cudaEventDestroy(e);
    }
    void start() override { record(); }
    void stop() override { record(); }
    std::vector<double> collect() override {
      std::vector<double> seconds;
      if (used_ == 0) return seconds;
      backend_.bind();
      HDR_CUDA_CHECK(cudaEventSynchronize(events_[used_ - 1]));
      for (size_t i = 0; i + 1 < used_; i += 2) {
        float ms = 0;
        HDR_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]));
        seconds.push_back(1e-3 * ms);
      }
      used_ = 0;
      return seconds;
    }

   private:
    void record() {
      backend_.bind();
      if (used_ == events_.size()) {
        cudaEvent_t e = nullptr;
        HDR_CUDA_CHECK(cudaEventCreate(&e));
        events_.push_back(e);
      }
      HDR_CUDA_CHECK(cudaEventRecord(events_[used_++], backend_.stream_.s));
    }
    const CudaBackend& backend_;
    std::vector<cudaEvent_t> events_;
    size_t used_ = 0;
  };

  void copy(float* dst, const float* src, size_t count) {
    if (dst != src)
      HDR_CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyDeviceToDevice, stream_.s));
  }

  int device_;
  std::string device_name_, cudnn_version_;
  cuda::CachingAllocator allocator_;  // first: outlives everything that holds its blocks
  Stream stream_;
  CudnnHandle cudnn_;
  CublasHandle cublas_;
  void* cublas_workspace_ = nullptr;
  cuda::GrowingBlock scratch_{allocator_};               // the hdr::cuda ops' (reserve_scratch)
  cuda::GrowingBlock flush_{allocator_};                 // flush_caches()' target
  std::optional<cuda::CudnnConvolutions> convolutions_;  // created once the handle exists
};

// FP32 lanes per SM: 64 on Volta, Turing and the A100 (sm_70, 75, 80), 128 on every other
// architecture since Ampere's GA10x.
int fp32_lanes_per_sm(int major, int minor) { return major < 8 || (major == 8 && minor == 0) ? 64 : 128; }

// The FP32 roof from the device's attributes (an FMA per lane per clock at the boost clock: what
// the vendor's figure is); the memory roof measured with a device-to-device copy of 256 MiB
// (read and write counted), next to the theoretical figure the attributes give.
DevicePeaks CudaBackend::measure_peaks() {
  bind();
  const int sms = attribute(cudaDevAttrMultiProcessorCount), clock_khz = attribute(cudaDevAttrClockRate);
  const int lanes = fp32_lanes_per_sm(attribute(cudaDevAttrComputeCapabilityMajor),
                                      attribute(cudaDevAttrComputeCapabilityMinor));
  DevicePeaks p;
  p.fp32_gflops = 2.0 * sms * lanes * clock_khz * 1e-6;
  p.fp32_source = fmt::format("device attributes: {} SMs x {} FP32 lanes x 2 FLOP x {:.2f} GHz", sms, lanes,
                              clock_khz * 1e-6);
  const double theoretical_gbs = 2.0 * attribute(cudaDevAttrMemoryClockRate) * 1e3 *
                                 attribute(cudaDevAttrGlobalMemoryBusWidth) / 8 * 1e-9;
  constexpr size_t kBytes = size_t(256) << 20;
  cuda::GrowingBlock a(allocator_), b(allocator_);
  a.reserve(kBytes);
  b.reserve(kBytes);
  EventTimer timer(*this);
  for (int r = 0; r < 11; ++r) {
    timer.start();
    HDR_CUDA_CHECK(cudaMemcpyAsync(a.data(), b.data(), kBytes, cudaMemcpyDeviceToDevice, stream_.s));
    timer.stop();
  }
  const std::vector<double> seconds = timer.collect();
  if (seconds.size() < 2) throw std::logic_error("measure_peaks: the copies were not all timed");
  const double best = *std::min_element(seconds.begin() + 1, seconds.end());  // the first copy warms up
  p.memory_gbs = 2.0 * kBytes / best * 1e-9;
  p.memory_source = fmt::format("measured: device-to-device copy of 256 MiB, best of 10 (theoretical {:.0f} GB/s)",
                                theoretical_gbs);
  return p;
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace hdr
