// no_usable_gpu (engine/backends/gpu_probe.h): each way of having no GPU is named for what it is,
// so that a machine without any NVIDIA driver is not told to update its driver.
#include <gtest/gtest.h>

#include <string>

#include "engine/backends/gpu_probe.h"

namespace hdr {
namespace {

CudaFailure failure(const char* name, int driver, int runtime = 12080) {
  CudaFailure f;
  f.error_name = name;
  f.error_text = "runtime text";
  f.driver_version = driver;
  f.runtime_version = runtime;
  return f;
}

TEST(NoUsableGpu, NoDriverAtAllIsNotAnOldDriver) {
  const std::string why = no_usable_gpu(failure("cudaErrorInsufficientDriver", 0));
  EXPECT_EQ(why.rfind("no usable GPU (no NVIDIA driver is installed", 0), 0u) << why;
  EXPECT_EQ(why.find("insufficient"), std::string::npos) << why;
}

TEST(NoUsableGpu, AnOldDriverNamesBothCudaVersions) {
  const std::string why = no_usable_gpu(failure("cudaErrorInsufficientDriver", 12020, 13000));
  EXPECT_NE(why.find("supports CUDA up to 12.2"), std::string::npos) << why;
  EXPECT_NE(why.find("runtime is CUDA 13.0"), std::string::npos) << why;
}

TEST(NoUsableGpu, NoDeviceSaysWhetherCudaVisibleDevicesHidesThem) {
  CudaFailure f = failure("cudaErrorNoDevice", 13000, 13000);
  EXPECT_EQ(no_usable_gpu(f), "no usable GPU (no CUDA device present)");
  f.visible_devices = "";
  EXPECT_EQ(no_usable_gpu(f), "no usable GPU (no CUDA device visible with CUDA_VISIBLE_DEVICES=\"\")");
  f.error_name.clear();  // cudaGetDeviceCount succeeded with a count of 0
  EXPECT_NE(no_usable_gpu(f).find("CUDA_VISIBLE_DEVICES"), std::string::npos);
}

TEST(NoUsableGpu, AnyOtherErrorIsTheRuntimesOwn) {
  EXPECT_EQ(no_usable_gpu(failure("cudaErrorDevicesUnavailable", 13000, 13000)),
            "no usable GPU (cudaErrorDevicesUnavailable: runtime text)");
}

}  // namespace
}  // namespace hdr
