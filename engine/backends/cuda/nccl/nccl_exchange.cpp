// NCCL all-reduce on a stream of its own. sum() records an event on the compute stream (the
// gradients it covers are written by then), has the NCCL stream wait for it and enqueues an
// ncclAllReduce with the step's pre-multiplying sum operator (each rank's weight applied on the
// way in; created at the step's first sum, destroyed at its finish), then returns: the backward
// pass of the layers below runs while the layers above are summed. finish() makes the compute
// stream wait for the NCCL stream, so the optimizer sees the sums; the host does not wait there.
// wait(), a step later, polls the event finish() recorded and NCCL's asynchronous error under
// the collective timeout: a peer that hangs ends this rank with CollectiveTimeout (the
// communicator aborted on the way out) instead of blocking it in a launch or a copy forever.
#include "engine/backends/cuda/nccl/nccl_exchange.h"

#include <fmt/format.h>
#include <nccl.h>

#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include "engine/distributed/collective_wait.h"
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
      : device_(device), compute_(compute), communicator_(communicator) {
    try {
      HDR_CUDA_CHECK(cudaSetDevice(device_));
      HDR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      HDR_CUDA_CHECK(cudaEventCreateWithFlags(&written_, cudaEventDisableTiming));
      HDR_CUDA_CHECK(cudaEventCreateWithFlags(&summed_, cudaEventDisableTiming));
      HDR_CUDA_CHECK(cudaEventCreateWithFlags(&reduced_, cudaEventDisableTiming));
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
    return fmt::format("gradients summed by NCCL {}.{}.{} over {} GPUs", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH,
                       communicator_.size());
  }
  bool overlaps() const override { return true; }

  void sum(float* values, size_t count, float weight) override {
    if (!op_) {
      ncclRedOp_t op;
      check(ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat, ncclScalarHostImmediate, comm_),
            "ncclRedOpCreatePreMulSum");
      op_ = op;
      weight_ = weight;
    } else if (weight != weight_) {
      throw std::logic_error("NcclExchange::sum: the sums of one step take different weights");
    }
    all_reduce(values, count, ncclFloat, *op_);
  }
  void average(float* values, size_t count) override { all_reduce(values, count, ncclFloat, ncclAvg); }
  // The compute stream goes on once the NCCL stream has the sums.
  void sum_now(double* values, size_t count) override {
    all_reduce(values, count, ncclDouble, ncclSum);
    HDR_CUDA_CHECK(cudaEventRecord(reduced_, stream_));
    HDR_CUDA_CHECK(cudaStreamWaitEvent(compute_, reduced_, 0));
  }

  void finish() override {
    ncclResult_t pending = ncclSuccess;
    check(ncclCommGetAsyncError(comm_, &pending), "ncclCommGetAsyncError");
    check(pending, "ncclAllReduce (asynchronous)");
    if (op_) {
      const ncclRedOp_t op = *std::exchange(op_, std::nullopt);
      check(ncclRedOpDestroy(op, comm_), "ncclRedOpDestroy");  // allowed once the calls using it returned
    }
    HDR_CUDA_CHECK(cudaEventRecord(summed_, stream_));
    HDR_CUDA_CHECK(cudaStreamWaitEvent(compute_, summed_, 0));
  }

  void wait() override {
    try {
      poll_collective("the NCCL all-reduce of the gradients", communicator_.timeout(), [this] {
        const cudaError_t status = cudaEventQuery(summed_);
        if (status == cudaSuccess) return true;
        if (status != cudaErrorNotReady) HDR_CUDA_CHECK(status);
        (void)cudaGetLastError();  // "not ready" must not surface later as a launch's error
        ncclResult_t pending = ncclSuccess;
        check(ncclCommGetAsyncError(comm_, &pending), "ncclCommGetAsyncError");
        check(pending, "ncclAllReduce (asynchronous)");
        return false;
      });
    } catch (...) {
      failed_ = true;  // the communicator's work may never finish: release() aborts it
      throw;
    }
  }

 private:
  // After the work enqueued on the compute stream so far, in place.
  void all_reduce(void* values, size_t count, ncclDataType_t type, ncclRedOp_t op) {
    HDR_CUDA_CHECK(cudaSetDevice(device_));
    HDR_CUDA_CHECK(cudaEventRecord(written_, compute_));
    HDR_CUDA_CHECK(cudaStreamWaitEvent(stream_, written_, 0));
    check(ncclAllReduce(values, values, count, type, op, comm_, stream_), "ncclAllReduce");
  }
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
      if (op_) ncclRedOpDestroy(*op_, comm_);
      if (failed_ || std::uncaught_exceptions() > 0) {
        ncclCommAbort(comm_);
      } else {
        cudaStreamSynchronize(stream_);
        ncclCommDestroy(comm_);
      }
    }
    if (reduced_) cudaEventDestroy(reduced_);
    if (summed_) cudaEventDestroy(summed_);
    if (written_) cudaEventDestroy(written_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int device_;
  cudaStream_t compute_;
  Communicator& communicator_;
  ncclComm_t comm_ = nullptr;
  std::optional<ncclRedOp_t> op_;  // this step's pre-multiplying sum, from its first sum to finish()
  float weight_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t written_ = nullptr, summed_ = nullptr, reduced_ = nullptr;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<GradientExchange> make_nccl_exchange(int device, cudaStream_t compute, Communicator& communicator) {
  return std::make_unique<NcclExchange>(device, compute, communicator);
}

}  // namespace hdr::cuda
