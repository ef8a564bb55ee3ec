// NCCL all-reduce on a stream of its own. sum() records an event on the compute stream (the
// gradients it covers are written by then), has the NCCL stream wait for it and enqueues an
// ncclAllReduce with a pre-multiplying sum (each rank's weight applied on the way in), then
// returns: the backward pass of the layers below runs while the layers above are summed.
// finish() makes the compute stream wait for the NCCL stream, so the optimizer sees the sums;
// the host never waits. NCCL's asynchronous errors (a peer gone) are polled there and thrown.
// A peer that hangs leaves this rank's GPU waiting: the next MPI collective of the step (the
// stop agreement) then times out on the other ranks (engine/distributed/collective_watchdog.h).
#include "engine/backends/cuda/nccl/nccl_exchange.h"

#include <fmt/format.h>
#include <nccl.h>

#include <exception>
#include <stdexcept>

#include "engine/distributed/communicator.h"
#include "kernels/cuda_check.h"

namespace hdr::cuda {
namespace {

#if NCCL_VERSION_CODE < NCCL_VERSION(2, 11, 0)
#error "hdr needs NCCL 2.11 or later (ncclRedOpCreatePreMulSum)"
#endif

[[noreturn]] void fail(ncclResult_t status, const char* call) {
  throw std::runtime_error(fmt::format("{} failed: {} (NCCL {}.{}.{}; another process of the run may have stopped)",
                                       call, ncclGetErrorString(status), NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH));
}

class NcclExchange final : public GradientExchange {
 public:
  NcclExchange(int device, cudaStream_t compute, Communicator& communicator)
      : device_(device), compute_(compute), ranks_(communicator.size()) {
    try {
      HDR_CUDA_CHECK(cudaSetDevice(device_));
      HDR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      HDR_CUDA_CHECK(cudaEventCreateWithFlags(&written_, cudaEventDisableTiming));
      HDR_CUDA_CHECK(cudaEventCreateWithFlags(&summed_, cudaEventDisableTiming));
      ncclUniqueId id{};
      if (communicator.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
      communicator.broadcast(&id, sizeof id, 0);
      check(ncclCommInitRank(&comm_, communicator.size(), id, communicator.rank()), "ncclCommInitRank");
    } catch (...) {
      release();
      throw;
    }
  }
  ~NcclExchange() override { release(); }

  std::string describe() const override {
    return fmt::format("gradients summed by NCCL {}.{}.{} over {} GPUs", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH, ranks_);
  }
  bool overlaps() const override { return true; }

  void sum(float* values, size_t count, float weight) override {
    HDR_CUDA_CHECK(cudaSetDevice(device_));
    HDR_CUDA_CHECK(cudaEventRecord(written_, compute_));
    HDR_CUDA_CHECK(cudaStreamWaitEvent(stream_, written_, 0));
    ncclRedOp_t op;
    check(ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat, ncclScalarHostImmediate, comm_),
          "ncclRedOpCreatePreMulSum");
    const ncclResult_t reduced = ncclAllReduce(values, values, count, ncclFloat, op, comm_, stream_);
    const ncclResult_t destroyed = ncclRedOpDestroy(op, comm_);  // allowed once the call using it returned
    check(reduced, "ncclAllReduce");
    check(destroyed, "ncclRedOpDestroy");
  }

  void finish() override {
    ncclResult_t pending = ncclSuccess;
    check(ncclCommGetAsyncError(comm_, &pending), "ncclCommGetAsyncError");
    check(pending, "ncclAllReduce (asynchronous)");
    HDR_CUDA_CHECK(cudaEventRecord(summed_, stream_));
    HDR_CUDA_CHECK(cudaStreamWaitEvent(compute_, summed_, 0));
  }

 private:
  void check(ncclResult_t status, const char* call) {
    if (status == ncclSuccess) return;
    failed_ = true;
    fail(status, call);
  }
  // A communicator whose work may never finish (a failure here or on a peer, or an exception on
  // its way out of the step) is aborted: waiting for its stream or destroying it could block
  // forever, and the error would never be printed.
  void release() {
    cudaSetDevice(device_);
    if (comm_) {
      if (failed_ || std::uncaught_exceptions() > 0) {
        ncclCommAbort(comm_);
      } else {
        cudaStreamSynchronize(stream_);
        ncclCommDestroy(comm_);
      }
    }
    if (summed_) cudaEventDestroy(summed_);
    if (written_) cudaEventDestroy(written_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int device_;
  cudaStream_t compute_;
  int ranks_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t written_ = nullptr, summed_ = nullptr;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<GradientExchange> make_nccl_exchange(int device, cudaStream_t compute, Communicator& communicator) {
  return std::make_unique<NcclExchange>(device, compute, communicator);
}

}  // namespace hdr::cuda
