// A host wait on work that the other ranks hold up outside any collective of the communicator:
// the GPU's stream behind an NCCL all-reduce. A library call that blocks (cudaEventSynchronize)
// would block forever on a peer that hangs without dying; polled instead, the wait ends at the
// deadline ([train] collective_timeout) with CollectiveTimeout, which the caller can unwind
// through (aborting the NCCL communicator on the way) and the CLI turns into exit status 3.
// Waits that cannot be polled stay under the collective watchdog (collective_watchdog.h), which
// says the same in the same words.
#pragma once

#include <functional>
#include <string>

namespace hdr {

// "<call> has waited <waited> s for the other processes of the run (train.collective_timeout =
// <timeout> s): one of them stopped responding; giving up"
std::string collective_timeout_message(const char* call, double waited_s, double timeout_s);

// Calls done() until it returns true, yielding the core between calls. Throws CollectiveTimeout
// naming `call` once the time waited passes timeout_s (0: waits forever). Like the watchdog, it
// counts at most a second between two calls, so that a process stopped and continued (Ctrl-Z, a
// batch system's suspend) does not find the deadline passed at once. done() may throw (an
// asynchronous error reported while waiting).
void poll_collective(const char* call, double timeout_s, const std::function<bool()>& done);

}  // namespace hdr
