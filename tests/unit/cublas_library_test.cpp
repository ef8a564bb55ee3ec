// The CUDA backend's cuBLAS, loaded when a CUDA backend is made (engine/backends/cuda/
// cublas_library.h): every function the backend calls resolves from the toolkit's library, which
// needs no GPU; and hdr does not load cuBLAS as it starts (cuBLASLt's static initialisers cost
// every command about 0.3 s: `hdr --version` took 0.36 s with it linked, 0.03 s without).
#include <gtest/gtest.h>

#include <string>

#include "tests/process.h"

#ifdef HDR_WITH_CUDA
#include "engine/backends/cuda/cublas_library.h"
#endif

namespace hdr {
namespace {

#ifdef HDR_WITH_CUDA

TEST(CublasLibrary, ResolvesEveryFunctionTheBackendCalls) {
  const cuda::CublasLibrary& l = cuda::cublas();
  EXPECT_NE(l.create, nullptr);
  EXPECT_NE(l.destroy, nullptr);
  EXPECT_NE(l.set_stream, nullptr);
  EXPECT_NE(l.set_workspace, nullptr);
  EXPECT_NE(l.set_math_mode, nullptr);
  EXPECT_NE(l.sgemm, nullptr);
  ASSERT_NE(l.status_name, nullptr);
  ASSERT_NE(l.status_string, nullptr);
  EXPECT_STREQ(l.status_name(CUBLAS_STATUS_NOT_INITIALIZED), "CUBLAS_STATUS_NOT_INITIALIZED");
  EXPECT_EQ(&cuda::cublas(), &l);  // loaded once
}

TEST(CublasLibrary, HdrDoesNotLinkIt) {
  const auto r = test::run_command(fmt::format("readelf --dynamic {}", HDR_EXE));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("libcudart.so"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("libcublas"), std::string::npos) << r.output;
}

#else

TEST(CublasLibrary, ResolvesEveryFunctionTheBackendCalls) { GTEST_SKIP() << "this build has no CUDA backend"; }

#endif

}  // namespace
}  // namespace hdr
