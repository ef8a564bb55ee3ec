#include "engine/distributed/communicator.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "engine/core/errors.h"

namespace hdr {

#ifdef HDR_WITH_MPI
std::unique_ptr<Communicator> make_mpi_communicator();  // engine/distributed/mpi_communicator.cpp
#endif

namespace {

// The world size the launcher announced in the environment (Open MPI's OMPI_COMM_WORLD_SIZE,
// PMI_SIZE, PMIX_SIZE), 1 when there is none.
int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* value = std::getenv(name); value && std::atoi(value) > 0) return std::atoi(value);
  return 1;
}

}  // namespace

bool Communicator::any(bool mine) {
  double flag = mine ? 1.0 : 0.0;
  sum(&flag, 1);
  return flag > 0.0;
}

void end_run_after_failure(Communicator& communicator, const std::exception& e) {
  if (communicator.size() == 1) throw;
  fmt::print(stderr, "hdr: rank {}: error: {}\n", communicator.rank(), e.what());
  std::fflush(stderr);
  communicator.abort(exit_status_of(e));
  std::_Exit(exit_status_of(e));  // abort() ends every process; should it return, this one still ends
}

std::unique_ptr<Communicator> make_communicator() {
  if (launched_world_size() <= 1) return std::make_unique<Communicator>();
#ifdef HDR_WITH_MPI
  return make_mpi_communicator();
#else
  throw InputError(fmt::format("started by mpirun as one of {} processes, but this hdr was built without MPI "
                               "(HDR_MPI=OFF or no MPI found at configure time)",
                               launched_world_size()));
#endif
}

}  // namespace hdr
