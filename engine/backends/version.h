// The text of `hdr --version`: version, revision, compiled-in libraries, CPU ISA, GPUs.
#pragma once

#include <string>

namespace hdr {

std::string version_report();

}  // namespace hdr
