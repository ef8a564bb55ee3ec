// The CPU backend's library ops: GEMM and convolution through oneDNN 2.x, with the contracts of
// engine/backends/backend.h (row-major GEMM; weights k x c x kh x kw; activations in the CPU backend's
// layout: blocked by activation_block() channels where kernels/cpu/blocked.h blocks them, plain
// NCHW otherwise).
// Convolution primitives are created on the first call for a geometry and cached with their
// scratchpad and layout buffers, so a training step creates and allocates nothing of ours after
// its first pass. oneDNN runs on the process's OpenMP pool; this class starts no threads.
// The oneDNN types stay in the .cpp so that including this header does not pull in dnnl.hpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "kernels/types.h"

namespace hdr {

class OneDnnOps {
 public:
  OneDnnOps();  // the CPU engine and its stream
  ~OneDnnOps();
  OneDnnOps(const OneDnnOps&) = delete;
  OneDnnOps& operator=(const OneDnnOps&) = delete;

  std::string version() const;  // of the oneDNN library loaded at run time, "2.6.3"
  // The FP32 vector width of the instructions oneDNN runs here, in floats: 16 with AVX-512, 8
  // with AVX2 (also on an AVX-512 CPU held to AVX2 by ONEDNN_MAX_CPU_ISA=AVX2), else 4.
  static int vector_lanes();
  // The channel block of the activation layout its convolutions run on without reorders: 16
  // (nChw16c) with AVX-512, else 8 (nChw8c: oneDNN's AVX2 and SSE4.1 kernels).
  static int activation_block();

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b, float beta,
            float* c);
  void conv_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);
  void conv_backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx);
  void conv_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias);

  // Creates the primitives `use` needs for g now rather than at their first call.
  void prepare(const ConvGeometry& g, const ConvUse& use);
  // Convolution primitives created so far: one per (op, geometry, with/without bias).
  size_t cached_primitives() const;
  // Their oneDNN implementations, one line each: "backward-weights n64 c1 28x28 k32 3x3 pad 0,0
  // stride 1: gemm:jit" (what ONEDNN_VERBOSE would print, without running it), then one
  // "...: im2col + sgemm" per weight gradient run without a primitive and "...: winograd
  // F(4x4,3x3) (hdr)" (or F(3x3,3x3)) per pass run by Winograd.
  std::vector<std::string> implementations() const;
  // The multiply-adds of a pass run by Winograd here (fewer than the direct sum's); 0 for a pass
  // the library runs.
  static double winograd_multiply_adds(Op op, const ConvGeometry& g);

 private:
  void winograd(bool input_gradient, const ConvGeometry& g, const float* w, const float* x, const float* bias,
                float* y);
  void weight_gradient_gemm(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hdr
