#include "engine/backends/cuda/cublas_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <string>

#include "engine/core/errors.h"

namespace hdr::cuda {
namespace {

const std::string kLibrary = fmt::format("libcublas.so.{}", CUBLAS_VER_MAJOR);

template <class F>
void resolve(void* library, F& function, const char* name) {
  function = reinterpret_cast<F>(dlsym(library, name));
  if (!function) throw InputError(fmt::format("{} has no {}: {}", kLibrary, name, dlerror()));
}

CublasLibrary load() {
  void* library = dlopen(kLibrary.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) throw InputError(fmt::format("cannot load cuBLAS for the CUDA backend: {}", dlerror()));
  // Never closed: cuBLAS handles may outlive any owner here, up to the process's exit.
  CublasLibrary l{};
  resolve(library, l.create, "cublasCreate_v2");
  resolve(library, l.destroy, "cublasDestroy_v2");
  resolve(library, l.set_stream, "cublasSetStream_v2");
  resolve(library, l.set_workspace, "cublasSetWorkspace_v2");
  resolve(library, l.set_math_mode, "cublasSetMathMode");
  resolve(library, l.sgemm, "cublasSgemm_v2");
  resolve(library, l.status_name, "cublasGetStatusName");
  resolve(library, l.status_string, "cublasGetStatusString");
  return l;
}

}  // namespace

const CublasLibrary& cublas() {
  static const CublasLibrary library = load();
  return library;
}

}  // namespace hdr::cuda
