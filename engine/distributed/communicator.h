// The processes of a data-parallel training run (`mpirun -np N hdr train ...`): each process is
// one rank, trains on its slice of every global batch and agrees with the others through these
// collectives (the gradients summed before each optimizer step, the epoch's metrics, a stop
// request). A process started without mpirun has the one-process communicator, which calls no
// MPI function at all, so single-process use needs no MPI set-up at run time.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace hdr {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  virtual int local_rank() const { return 0; }  // among the ranks on this machine: its GPU
  virtual std::string describe() const { return "one process"; }
  // In place: the sum over every rank's values, on every rank.
  virtual void sum(float*, size_t) {}
  virtual void sum(double*, size_t) {}
  // In place: root's bytes, on every rank (the NCCL communicator's id).
  virtual void broadcast(void*, size_t, int /*root*/) {}
  // Every rank's text, in rank order, on every rank (the layout rank 0 prints).
  virtual std::vector<std::string> gather(const std::string& mine) { return {mine}; }
  // Ends every process of the run with `code` (a rank that failed while the others wait for it).
  // One process: returns, and the caller reports the error as usual.
  virtual void abort(int /*code*/) {}
  // Brackets a wait of this process on something the other ranks hold up without a collective
  // of this communicator (the GPU's stream behind an NCCL all-reduce): the timeout covers it.
  virtual void begin_wait(const char* /*what*/) {}
  virtual void end_wait() {}
  // How long a collective may wait for the other ranks before this process gives up
  // (engine/distributed/collective_watchdog.h); 0: forever. The waits polled outside the
  // communicator (collective_wait.h) read it back.
  virtual void set_timeout(double seconds) { timeout_ = seconds; }
  double timeout() const { return timeout_; }
  // True on every rank when any rank passes true.
  bool any(bool mine);

 private:
  double timeout_ = 0;
};

// begin_wait() ... end_wait() as a scope.
class CommunicatorWait {
 public:
  CommunicatorWait(Communicator& communicator, const char* what) : communicator_(communicator) {
    communicator_.begin_wait(what);
  }
  ~CommunicatorWait() { communicator_.end_wait(); }
  CommunicatorWait(const CommunicatorWait&) = delete;
  CommunicatorWait& operator=(const CommunicatorWait&) = delete;

 private:
  Communicator& communicator_;
};

// A rank that failed while the others may be waiting for it in a collective (or in
// MPI_Finalize): says why on standard error, naming the rank, and ends the whole run at once
// with the error's exit status (engine/core/errors.h). One process: rethrows, and the CLI reports
// the error as usual.
[[noreturn]] void end_run_after_failure(Communicator& communicator, const std::exception& e);

// The MPI communicator when this process was started by mpirun (or another PMI launcher) with
// more than one process, else the one-process one. InputError when launched so but this build
// has no MPI (HDR_MPI=OFF or no MPI at configure time). One per process: MPI starts once.
std::unique_ptr<Communicator> make_communicator();

}  // namespace hdr
