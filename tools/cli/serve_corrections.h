// Corrections through `hdr serve --corrections DIR`: every digit /predict answers gets an "id",
// and the server keeps the image it classified (the side x side bytes the model saw) for the last
// kRecentDigits answers, so that "that was a 7" needs only the id:
//   POST /corrections  {"id": "...", "label": 7}  -> the image and label appended to the set in
//                      DIR (engine/io/corrections.h): {"status": "success", "corrections": n}
//   GET  /corrections  {"corrections": n, "capacity", "by_label": [...]}
// 404 for an id the server no longer holds (or one corrected already), 400 for a bad label, 507
// when the set is full or a write fails (the set stays as it was, and the id can be sent again). Without --corrections
// nothing is kept and both are 404.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/io/corrections.h"
#include "tools/cli/http_message.h"

namespace hdr::cli {

inline constexpr size_t kRecentDigits = 1024;

// The last kRecentDigits images answered, by a random id.
class RecentDigits {
 public:
  std::string remember(std::vector<uint8_t> image);
  // The image of id, forgotten as it is taken: an answer is corrected once.
  std::optional<std::vector<uint8_t>> take(const std::string& id);
  void remember_as(const std::string& id, std::vector<uint8_t> image);

 private:
  mutable std::mutex mutex_;
  std::mt19937_64 random_{std::random_device{}()};
  std::deque<std::pair<std::string, std::vector<uint8_t>>> digits_;
};

struct ServeCorrections {
  explicit ServeCorrections(CorrectionWriter& w) : writer(w) {}
  CorrectionWriter& writer;
  RecentDigits recent;
};

void post_correction(ServeCorrections* corrections, const HttpRequest& req, HttpResponse& res);
void get_corrections(const ServeCorrections* corrections, HttpResponse& res);

}  // namespace hdr::cli
