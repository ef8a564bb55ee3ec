// How a data-parallel step sums the ranks' gradients (engine/distributed/communicator.h): each rank's values,
// scaled by its weight, added up on every rank, in place on the device. Two ways:
//   through the host   download, MPI_Allreduce, upload (the CPU backend; any backend);
//   on the GPU         NCCL on a stream of its own (the CUDA backend, engine/backends/cuda/
//                      nccl_exchange.cpp): sum() only enqueues, after the gradients it covers,
//                      so a step hands each layer's gradients over as soon as its backward pass
//                      has written them and the all-reduce overlaps the rest of the backward.
// Every rank must make the same sum() calls, with the same counts, in the same order.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace hdr {

class Backend;
class Communicator;

class GradientExchange {
 public:
  virtual ~GradientExchange() = default;
  virtual std::string describe() const = 0;
  // Whether sum() returns before the sum is done, so that calling it layer by layer during the
  // backward pass overlaps communication with computation.
  virtual bool overlaps() const { return false; }
  // values (count floats on the backend) = the sum over the ranks of weight * values.
  virtual void sum(float* values, size_t count, float weight) = 0;
  // Work enqueued on the backend after this sees every sum done.
  virtual void finish() {}
};

// The exchange through the host and the communicator.
std::unique_ptr<GradientExchange> make_host_exchange(Backend& backend, Communicator& communicator);

}  // namespace hdr
