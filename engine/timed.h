// Wall time of a piece of device work, for profiles: synchronise, run, synchronise, add the
// seconds. With no accumulator it only runs the work (no synchronisation in normal training).
#pragma once

#include <chrono>

#include "engine/backend.h"

namespace hdr {

template <class Fn>
void timed(Backend& backend, double* seconds, Fn fn) {
  if (!seconds) return fn();
  backend.synchronize();
  const auto start = std::chrono::steady_clock::now();
  fn();
  backend.synchronize();
  *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace hdr
