// How a data-parallel step sums the ranks' gradients (engine/distributed/communicator.h): each rank's values,
// scaled by its weight, added up on every rank, in place on the device; and, for synchronised
// batch norm, the statistics that the pass waits for (sum_now). Two ways:
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
  // values (count floats on the backend) = the sum over the ranks of weight * values. Every sum
  // between two finish() calls takes the same weight (NCCL: one operator per step).
  virtual void sum(float* values, size_t count, float weight) = 0;
  // values = their mean over the ranks (the moving statistics of per-rank batch norm).
  virtual void average(float* values, size_t count) = 0;
  // values (count doubles on the backend) = their sum over the ranks, for the work enqueued next
  // (synchronised batch norm's statistics, which the pass needs before it goes on): NCCL on the
  // device, in the backend's order, without the host waiting; through the host, at once.
  virtual void sum_now(double* values, size_t count) = 0;
  // Work enqueued on the backend after this sees every sum done.
  virtual void finish() {}
  // The host waits until the sums before the last finish() are done, polled under the
  // collective timeout (engine/distributed/collective_wait.h): CollectiveTimeout past it, the
  // exchange's own error if it failed meanwhile. The step calls it once a step, one step behind,
  // so that the host never runs more than a step ahead of the all-reduce and never blocks where
  // nothing watches it.
  virtual void wait() {}
};

// The exchange through the host and the communicator.
std::unique_ptr<GradientExchange> make_host_exchange(Backend& backend, Communicator& communicator);

}  // namespace hdr
