// The processes of a data-parallel training run (`mpirun -np N hdr train ...`): each process is
// one rank, trains on its slice of every global batch and agrees with the others through these
// collectives (the gradients summed before each optimizer step, the epoch's metrics, a stop
// request). A process started without mpirun has the one-process communicator, which calls no
// MPI function at all, so single-process use needs no MPI set-up at run time.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

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
  // How long a collective may wait for the other ranks before this process gives up
  // (engine/collective_watchdog.h); 0: forever.
  virtual void set_timeout(double /*seconds*/) {}
  // True on every rank when any rank passes true.
  bool any(bool mine);
};

// The MPI communicator when this process was started by mpirun (or another PMI launcher) with
// more than one process, else the one-process one. InputError when launched so but this build
// has no MPI (HDR_MPI=OFF or no MPI at configure time). One per process: MPI starts once.
std::unique_ptr<Communicator> make_communicator();

}  // namespace hdr
