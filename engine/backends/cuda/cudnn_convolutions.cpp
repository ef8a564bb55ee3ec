// See cudnn_convolutions.h: one Plan per geometry, algorithms chosen once, one shared workspace.
#include "engine/backends/cuda/cudnn_convolutions.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "engine/backends/cuda/cuda_errors.h"

namespace hdr::cuda {

namespace {

std::string describe(const ConvGeometry& g) {
  return fmt::format("n={} c={} h={} w={} k={} kernel={}x{} pad={},{} stride={}", g.n, g.c, g.h, g.w, g.k, g.kh, g.kw,
                     g.pad_h, g.pad_w, g.stride);
}

// Says once per process that a convolution runs a non-deterministic algorithm: from then on two
// runs with the same seed need not give bit-identical weights, which hdr otherwise promises.
void announce_nondeterministic(const char* what, int algo, const ConvGeometry& g) {
  static std::atomic<bool> announced{false};
  if (announced.exchange(true)) return;
  fmt::print(stderr,
             "warning: cuDNN has no deterministic {} algorithm within {} MiB of workspace for {}: using algorithm {}, "
             "so runs with the same seed may differ in the last bits\n",
             what, CudnnConvolutions::kWorkspaceLimit >> 20, describe(g), algo);
}

// cuDNN's ranking (fastest first by its heuristics), filtered: success, no tensor-op math
// (TF32), workspace within the limit as cuDNN reports it for the exact descriptors; the first
// deterministic candidate wins, else the first candidate (announced). workspace(algo) returns
// false when cuDNN cannot size the algorithm.
template <class Perf, class Algo, class WorkspaceFn>
Algo choose(const std::vector<Perf>& ranked, int returned, WorkspaceFn workspace, size_t& bytes, const char* what,
            const ConvGeometry& g) {
  int fallback = -1;
  size_t fallback_bytes = 0;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = ranked[size_t(i)];
    if (p.status != CUDNN_STATUS_SUCCESS) continue;
    if (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    size_t need = 0;
    if (!workspace(p.algo, need) || need > CudnnConvolutions::kWorkspaceLimit) continue;
    if (p.determinism == CUDNN_DETERMINISTIC) {
      bytes = need;
      return p.algo;
    }
    if (fallback < 0) {
      fallback = i;
      fallback_bytes = need;
    }
  }
  if (fallback < 0)
    throw std::runtime_error(fmt::format("cuDNN offers no {} algorithm within {} MiB of workspace for {}", what,
                                         CudnnConvolutions::kWorkspaceLimit >> 20, describe(g)));
  bytes = fallback_bytes;
  announce_nondeterministic(what, int(ranked[size_t(fallback)].algo), g);
  return ranked[size_t(fallback)].algo;
}

}  // namespace

CudnnConvolutions::~CudnnConvolutions() {
  for (auto& [key, p] : plans_) destroy(p);
}

void CudnnConvolutions::destroy(Plan& p) {
  // Destroy calls only fail on null or invalid descriptors; nothing useful to do with that here.
  if (p.x) cudnnDestroyTensorDescriptor(p.x);
  if (p.y) cudnnDestroyTensorDescriptor(p.y);
  if (p.bias) cudnnDestroyTensorDescriptor(p.bias);
  if (p.w) cudnnDestroyFilterDescriptor(p.w);
  if (p.conv) cudnnDestroyConvolutionDescriptor(p.conv);
  p = Plan{};
}

CudnnConvolutions::Plan& CudnnConvolutions::plan(const ConvGeometry& g) {
  const Key key{g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.pad_h, g.pad_w, g.stride};
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  if (g.n <= 0 || g.c <= 0 || g.h <= 0 || g.w <= 0 || g.k <= 0 || g.kh <= 0 || g.kw <= 0 || g.stride <= 0 ||
      g.out_h() <= 0 || g.out_w() <= 0)
    throw std::invalid_argument("convolution with an empty or invalid geometry: " + describe(g));

  Plan p;
  try {
    HDR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.x));
    HDR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.y));
    HDR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.bias));
    HDR_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
    HDR_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
    HDR_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g.n, g.c, g.h, g.w));
    HDR_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g.k, g.c, g.kh, g.kw));
    HDR_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p.conv, g.pad_h, g.pad_w, g.stride, g.stride, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    HDR_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, CUDNN_FMA_MATH));
    int on = 0, oc = 0, oh = 0, ow = 0;
    HDR_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p.conv, p.x, p.w, &on, &oc, &oh, &ow));
    if (on != g.n || oc != g.k || oh != g.out_h() || ow != g.out_w())
      throw std::logic_error(
          fmt::format("cuDNN output {}x{}x{}x{} differs from the geometry's for {}", on, oc, oh, ow, describe(g)));
    HDR_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, on, oc, oh, ow));
    HDR_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g.k, 1, 1));

    int max_count = 0, returned = 0;
    HDR_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(handle_, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd(size_t(std::max(max_count, 1)));
    HDR_CUDNN_CHECK(
        cudnnGetConvolutionForwardAlgorithm_v7(handle_, p.x, p.w, p.conv, p.y, int(fwd.size()), &returned, fwd.data()));
    p.fwd = choose<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(
        fwd, returned,
        [&](cudnnConvolutionFwdAlgo_t a, size_t& bytes) {
          return cudnnGetConvolutionForwardWorkspaceSize(handle_, p.x, p.w, p.conv, p.y, a, &bytes) ==
                 CUDNN_STATUS_SUCCESS;
        },
        p.fwd_bytes, "forward", g);

    HDR_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle_, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> bwd_data(size_t(std::max(max_count, 1)));
    HDR_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle_, p.w, p.y, p.conv, p.x, int(bwd_data.size()),
                                                                &returned, bwd_data.data()));
    p.bwd_data = choose<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(
        bwd_data, returned,
        [&](cudnnConvolutionBwdDataAlgo_t a, size_t& bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(handle_, p.w, p.y, p.conv, p.x, a, &bytes) ==
                 CUDNN_STATUS_SUCCESS;
        },
        p.bwd_data_bytes, "backward-data", g);

    HDR_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle_, &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> bwd_filter(size_t(std::max(max_count, 1)));
    HDR_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        handle_, p.x, p.y, p.conv, p.w, int(bwd_filter.size()), &returned, bwd_filter.data()));
    p.bwd_filter = choose<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(
        bwd_filter, returned,
        [&](cudnnConvolutionBwdFilterAlgo_t a, size_t& bytes) {
          return cudnnGetConvolutionBackwardFilterWorkspaceSize(handle_, p.x, p.y, p.conv, p.w, a, &bytes) ==
                 CUDNN_STATUS_SUCCESS;
        },
        p.bwd_filter_bytes, "backward-filter", g);

    workspace_.reserve(std::max({p.fwd_bytes, p.bwd_data_bytes, p.bwd_filter_bytes}));
  } catch (...) {
    destroy(p);
    throw;
  }
  return plans_.emplace(key, p).first->second;
}

void CudnnConvolutions::forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  const Plan& p = plan(g);
  const float one = 1.0f, zero = 0.0f;
  HDR_CUDNN_CHECK(cudnnConvolutionForward(handle_, &one, p.x, x, p.w, w, p.conv, p.fwd, workspace_.data(), p.fwd_bytes,
                                          &zero, p.y, y));
  if (bias) HDR_CUDNN_CHECK(cudnnAddTensor(handle_, &one, p.bias, bias, &one, p.y, y));
}

void CudnnConvolutions::backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) {
  const Plan& p = plan(g);
  const float one = 1.0f, zero = 0.0f;
  HDR_CUDNN_CHECK(cudnnConvolutionBackwardData(handle_, &one, p.w, w, p.y, dy, p.conv, p.bwd_data, workspace_.data(),
                                               p.bwd_data_bytes, &zero, p.x, dx));
}

void CudnnConvolutions::backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                         float* dbias) {
  const Plan& p = plan(g);
  const float one = 1.0f, zero = 0.0f;
  HDR_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle_, &one, p.x, x, p.y, dy, p.conv, p.bwd_filter,
                                                 workspace_.data(), p.bwd_filter_bytes, &zero, p.w, dw));
  if (dbias) HDR_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle_, &one, p.y, dy, &zero, p.bias, dbias));
}

}  // namespace hdr::cuda
