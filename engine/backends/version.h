// The text of `hdr --version`: version, revision, compiled-in libraries, CPU ISA, GPUs.
#pragma once

#include <string>

namespace hdr {

std::string version_report();
// The commit this binary was built from (12 hex digits), or "unknown" outside a git checkout.
const char* git_revision();
// "0.1.0 (git 1a2b3c4d5e6f, Release build)".
std::string build_label();

}  // namespace hdr
