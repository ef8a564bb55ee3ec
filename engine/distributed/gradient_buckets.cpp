#include "engine/distributed/gradient_buckets.h"

namespace hdr {

void GradientBuckets::add(GradientExchange& exchange, float* values, size_t count, float weight) {
  if (count == 0) return;
  const bool below = values + count == first_, above = first_ + count_ == values;
  if (count_ > 0 && weight == weight_ && (below || above)) {
    if (below) first_ = values;
    count_ += count;
  } else {
    flush(exchange);
    first_ = values;
    count_ = count;
    weight_ = weight;
  }
  if (count_ >= bucket_values_) flush(exchange);
}

void GradientBuckets::flush(GradientExchange& exchange) {
  if (count_ == 0) return;
  exchange.sum(first_, count_, weight_);
  first_ = nullptr;
  count_ = 0;
}

}  // namespace hdr
