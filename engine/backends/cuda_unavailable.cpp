// make_cuda_backend for builds without the CUDA backend (HDR_CUDA=OFF or no nvcc): every
// backends/*.cpp is compiled in every build, so this one compiles to nothing in CUDA builds,
// where engine/backends/cuda/cuda_backend.cpp defines the function.
#if !defined(HDR_WITH_CUDA)
#include "engine/backends/backend.h"
#include "engine/core/errors.h"

namespace hdr {

std::unique_ptr<Backend> make_cuda_backend(int) {
  throw InputError("this hdr was built without CUDA (HDR_CUDA=OFF or no nvcc at configure time)");
}

}  // namespace hdr
#endif
