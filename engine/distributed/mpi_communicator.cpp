// The MPI communicator (MPI's C API, Debian's Open MPI). Errors return instead of aborting, so a
// failed collective (a rank that died) becomes an exception naming the call, and the run stops
// with one line instead of a library's abort; a collective that waits past the timeout (a rank
// that stopped responding without dying) ends the process through the watchdog.
#include <fmt/format.h>
#include <mpi.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/core/errors.h"
#include "engine/distributed/collective_watchdog.h"
#include "engine/distributed/communicator.h"

namespace hdr {
namespace {

void check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw std::runtime_error(fmt::format("{} failed: {} (another process of the run may have stopped)", call,
                                       std::string(text, size_t(length))));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int provided = 0;
    // Funneled: only the main thread calls MPI; OpenMP's threads never do.
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw InputError("MPI_Init_thread failed: the MPI launch could not be joined");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    check(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank");
    MPI_Comm_free(&local);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    library_ = std::string(version, size_t(length));
    library_ = library_.substr(0, library_.find_first_of(",\n"));
    watchdog_.emplace(rank_);
  }
  ~MpiCommunicator() override {
    watchdog_.reset();
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string describe() const override { return fmt::format("{} processes over MPI ({})", size_, library_); }
  void sum(float* values, size_t count) override { all_reduce(values, count, MPI_FLOAT); }
  void sum(double* values, size_t count) override { all_reduce(values, count, MPI_DOUBLE); }
  void broadcast(void* bytes, size_t count, int root) override {
    const CollectiveWatchdog::Wait wait(*watchdog_, "MPI_Bcast");
    check(MPI_Bcast(bytes, int(count), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  std::vector<std::string> gather(const std::string& mine) override {
    const CollectiveWatchdog::Wait wait(*watchdog_, "MPI_Allgather");
    const int length = int(mine.size());
    std::vector<int> lengths(size_t(size_), 0), offsets(size_t(size_), 0);
    check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
    for (size_t r = 1; r < lengths.size(); ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
    std::string all(size_t(offsets.back() + lengths.back()), '\0');
    check(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                         MPI_COMM_WORLD),
          "MPI_Allgatherv");
    std::vector<std::string> texts;
    for (size_t r = 0; r < lengths.size(); ++r) texts.push_back(all.substr(size_t(offsets[r]), size_t(lengths[r])));
    return texts;
  }
  void abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }
  void begin_wait(const char* what) override { watchdog_->begin(what); }
  void end_wait() override { watchdog_->end(); }
  void set_timeout(double seconds) override {
    Communicator::set_timeout(seconds);
    watchdog_->set_timeout(std::chrono::milliseconds(int64_t(seconds * 1000.0)));
  }

 private:
  void all_reduce(void* values, size_t count, MPI_Datatype type) {
    const CollectiveWatchdog::Wait wait(*watchdog_, "MPI_Allreduce");
    check(MPI_Allreduce(MPI_IN_PLACE, values, int(count), type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::string library_;
  std::optional<CollectiveWatchdog> watchdog_;  // started once the rank is known
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace hdr
