#include "tools/cli/serve_corrections.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/errors.h"
#include "tools/cli/http_request.h"

namespace hdr::cli {
namespace {

void require(const ServeCorrections* corrections) {
  if (corrections == nullptr)
    throw HttpError(404, "this server keeps no corrections: start it with --corrections DIR to store them");
}

}  // namespace

std::string RecentDigits::remember(std::vector<uint8_t> image) {
  std::string id;
  {
    const std::lock_guard lock(mutex_);
    id = fmt::format("{:016x}", random_());
  }
  remember_as(id, std::move(image));
  return id;
}

void RecentDigits::remember_as(const std::string& id, std::vector<uint8_t> image) {
  const std::lock_guard lock(mutex_);
  if (digits_.size() == kRecentDigits) digits_.pop_front();
  digits_.emplace_back(id, std::move(image));
}

std::optional<std::vector<uint8_t>> RecentDigits::take(const std::string& id) {
  const std::lock_guard lock(mutex_);
  const auto it = std::find_if(digits_.begin(), digits_.end(), [&](const auto& d) { return d.first == id; });
  if (it == digits_.end()) return std::nullopt;
  std::vector<uint8_t> image = std::move(it->second);
  digits_.erase(it);
  return image;
}

void post_correction(ServeCorrections* corrections, const HttpRequest& req, HttpResponse& res) {
  require(corrections);
  ServeCorrections& c = *corrections;
  const nlohmann::json body = parse_json_body(req);
  if (!body.is_object() || !body.contains("id") || !body["id"].is_string())
    throw HttpError(400, "a correction is {\"id\": \"<the id of the answer>\", \"label\": <the right digit>}");
  if (!body.contains("label") || !body["label"].is_number_integer())
    throw HttpError(400, "\"label\" must be the right digit, a whole number");
  const std::string id = body["id"];
  const int64_t label = body["label"];
  if (label < 0 || label >= c.writer.classes())
    throw HttpError(400, fmt::format("label {} is out of range (expected 0..{})", label, c.writer.classes() - 1));
  if (c.writer.count() >= c.writer.capacity())
    throw HttpError(507, fmt::format("the corrections set is full ({} corrections): train on it and start a new one",
                                     c.writer.capacity()));
  std::optional<std::vector<uint8_t>> image = c.recent.take(id);
  if (!image)
    throw HttpError(404, fmt::format("no recent answer has id '{}' (the server keeps the last {} digits it read, and "
                                     "each is corrected once)",
                                     id, kRecentDigits));
  int count = 0;
  try {
    count = c.writer.append(*image, int(label));
  } catch (const std::runtime_error& e) {         // full since the check above, or the write failed
    c.recent.remember_as(id, std::move(*image));  // nothing stored: the same id may be sent again
    throw HttpError(507, dynamic_cast<const InputError*>(&e)
                             ? std::string(e.what())
                             : fmt::format("the correction was not stored: {}", e.what()));
  }
  send_json(res, 200, {{"status", "success"}, {"corrections", count}});
}

void get_corrections(const ServeCorrections* corrections, HttpResponse& res) {
  require(corrections);
  const ServeCorrections& c = *corrections;
  send_json(
      res, 200,
      {{"corrections", c.writer.count()}, {"capacity", c.writer.capacity()}, {"by_label", c.writer.count_by_label()}});
}

}  // namespace hdr::cli
