// HDR_HD marks element math shared verbatim by CUDA kernels and their CPU twins:
// __host__ __device__ under nvcc, plain inline functions under the host compiler.
#pragma once

#if defined(__CUDACC__)
#define HDR_HD __host__ __device__
#else
#define HDR_HD
#endif

// A kernel's shared array: __shared__ under nvcc; kernels/simt_host.h defines its own, which
// poisons the array at the start of every block.
#if defined(__CUDACC__)
#define HDR_SHARED(type, name, count) __shared__ type name[count]
#endif
