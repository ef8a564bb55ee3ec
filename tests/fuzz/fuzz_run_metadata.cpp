// Fuzz target: a checkpoint's run metadata (engine/run_checkpoint.*: history, schedules, early
// stopping, the resume state), the JSON that --resume, eval and info read. What parses must
// write back out and parse again to the same run.
#include <cstdint>
#include <string>

#include "engine/io/run_checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hdr;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::read_or_input_error("fuzz-metadata", [&] {
    const RunMetadata m = parse_run_metadata(text, "fuzz-metadata");
    const RunMetadata again = parse_run_metadata(run_metadata_json(m, nullptr), "fuzz-metadata (written back)");
    if (again.history.size() != m.history.size() || again.epochs_run != m.epochs_run ||
        again.resume.has_value() != m.resume.has_value() || (m.resume && again.resume->step != m.resume->step))
      fuzz::finding("run metadata written back reads as another run");
  });
  return 0;
}
