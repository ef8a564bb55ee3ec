#include "tools/openmp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace hdr::cli {

void bound_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure
  unsetenv("GOMP_SPINCOUNT");     // this process keeps libgomp's default: say nothing different to children
}

}  // namespace hdr::cli
