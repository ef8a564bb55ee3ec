// cuBLAS, loaded (dlopen) when the first CUDA backend is made instead of when hdr starts: its
// cuBLASLt runs about 0.3 s of static initialisers on loading, which every hdr command (info,
// predict, serve, a test's each run) would otherwise pay, GPU or none. The CUDA backend calls
// the functions it uses through this table.
#pragma once

#include <cublas_v2.h>

namespace hdr::cuda {

struct CublasLibrary {
  decltype(&cublasCreate) create;
  decltype(&cublasDestroy) destroy;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasSetWorkspace) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSgemm) sgemm;
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
};

// The library of the cuBLAS major version hdr was compiled against (libcublas.so.<major>, found
// as the dynamic linker finds libraries), loaded once. Throws InputError naming the library and
// the loader's reason when it or one of the functions cannot be found.
const CublasLibrary& cublas();

}  // namespace hdr::cuda
