// HDR_HD marks element math shared verbatim by CUDA kernels and their CPU twins:
// __host__ __device__ under nvcc, plain inline functions under the host compiler.
#pragma once

#if defined(__CUDACC__)
#define HDR_HD __host__ __device__
#else
#define HDR_HD
#endif
