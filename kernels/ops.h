// The hand-written ops' host entry points. Every op has a CPU twin (namespace hdr::cpu,
// kernels/cpu/<op>.cpp) and, in CUDA builds, a GPU entry point of the same name and signature
// in hdr::cuda (kernels/<op>.cu, launched on the stream set by hdr::cuda::set_stream). Element
// math lives in kernels/<op>.cuh and is shared by both. The one list of signatures is
// kernels/ops_list.h, declared here in each namespace, so the twins cannot drift apart.
// All tensors are float NCHW; pointers are on the device of the namespace's backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/types.h"

namespace hdr::cpu {
#include "kernels/ops_list.h"
}  // namespace hdr::cpu

#if defined(HDR_WITH_CUDA)
struct CUstream_st;
namespace hdr::cuda {
#include "kernels/ops_list.h"
// The stream every hdr::cuda op launched from the calling thread uses (default: the legacy
// default stream); each thread has its own. The CUDA backend sets it, with the device, at the
// start of each of its ops.
void set_stream(CUstream_st* stream);
CUstream_st* stream();
// Device scratch for the ops that need some (the batch-norm reductions' partial sums, inference's
// 1/std per channel), bound
// per thread like the stream; bn_relu_scratch_bytes(g) says how much a batch-norm op of
// geometry g needs. scratch() throws std::logic_error naming `op` when less is bound.
void set_scratch(void* scratch, size_t bytes);
void* scratch(size_t bytes, const char* op);
size_t bn_relu_scratch_bytes(const BatchNormGeometry& g);
// Empty when the current device can run this build's kernels, else the CUDA error that says why
// not (kernels/device_check.cu).
std::string kernel_image_error();
// The conv block fused (kernels/conv_block.cu), any pooling geometry. GPU only here: the
// CPU twins work on blocked layouts (kernels/cpu/blocked.h).
#include "kernels/conv_block_ops_list.h"
}  // namespace hdr::cuda
#endif
