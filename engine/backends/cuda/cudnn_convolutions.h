// The CUDA backend's convolutions: cuDNN 9's legacy convolution API on float NCHW tensors.
//
// Per geometry (batch size included: training, evaluation and the last partial batch are three)
// a Plan holds the tensor, filter and convolution descriptors and the forward, backward-data and
// backward-filter algorithms, chosen once from cuDNN's heuristics (cudnnGet*Algorithm_v7): the
// first algorithm in cuDNN's ranking that is deterministic and needs at most kWorkspaceLimit of
// workspace, else the first that fits. Deterministic first, so that a seed gives the same
// weights on every run, as on the CPU. Math is CUDNN_FMA_MATH: plain fp32, never TF32, so
// results agree with the CPU backend to fp32 rounding (hdr selftest checks it).
//
// One workspace serves every plan: grown (through the caching allocator) when a new plan needs
// more, which happens when a model prepares its shapes (Backend::prepare_convolution) or at the
// first use of a geometry it did not prepare, never in later steps.
#pragma once

#include <cudnn.h>

#include <array>
#include <cstddef>
#include <map>

#include "engine/backends/cuda/caching_allocator.h"
#include "kernels/types.h"

namespace hdr::cuda {

class CudnnConvolutions {
 public:
  static constexpr size_t kWorkspaceLimit = size_t(256) << 20;

  CudnnConvolutions(cudnnHandle_t handle, CachingAllocator& allocator) : handle_(handle), workspace_(allocator) {}
  ~CudnnConvolutions();
  CudnnConvolutions(const CudnnConvolutions&) = delete;
  CudnnConvolutions& operator=(const CudnnConvolutions&) = delete;

  void forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);
  void backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx);
  void backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias);
  // Creates g's plan (and grows the workspace) now rather than at its first use.
  void prepare(const ConvGeometry& g) { plan(g); }
  size_t plan_count() const { return plans_.size(); }

 private:
  struct Plan {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    cudnnConvolutionFwdAlgo_t fwd{};
    cudnnConvolutionBwdDataAlgo_t bwd_data{};
    cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
    size_t fwd_bytes = 0, bwd_data_bytes = 0, bwd_filter_bytes = 0;
  };
  using Key = std::array<int, 10>;

  Plan& plan(const ConvGeometry& g);  // cached, or created (descriptors, algorithms, workspace)
  static void destroy(Plan& p);

  cudnnHandle_t handle_;
  std::map<Key, Plan> plans_;
  GrowingBlock workspace_;
};

}  // namespace hdr::cuda
