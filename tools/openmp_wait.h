// A bounded OpenMP spin for the `hdr` binary, so that training degrades in proportion to the
// cores another process takes (issue 25, item 6).
//
// libgomp spins 300,000 times (milliseconds) in every barrier before it sleeps. When another
// process holds one of the two cores, the thread that waits for a descheduled partner spins away
// the time slice that partner needs: `hdr bench train` kept 28-45% of its unloaded images/s beside
// a one-core spin loop. With 1,000 spins (libgomp's own figure for more threads than CPUs) it
// kept 55-60%, and alone it lost nothing measurable (bench/README.md). The spin count changes
// only how threads wait, never what they compute: the bits stay the same.
#pragma once

namespace hdr::cli {

// libgomp reads its settings once, in a constructor that runs before main, and offers no call to
// change them; an executable's .preinit_array runs earlier still but before the C library has set
// up the environment. So, unless the user chose OMP_WAIT_POLICY or GOMP_SPINCOUNT, this sets
// GOMP_SPINCOUNT and executes the binary again (same pid, arguments and descriptors). Call first
// thing in main. If the binary cannot be re-executed it returns and libgomp's default stays.
void bound_openmp_spin(char** argv);

}  // namespace hdr::cli
