// The backward pass hands each layer's gradients to an overlapping exchange as soon as they are
// written (engine/distributed/gradient_exchange.h). Summed one by one, cnn_bn's 9 layers make 9
// all-reduces a step, several under 1 KB, each paying NCCL's latency of some microseconds;
// merged into buckets of about [train] gradient_bucket_kib (PyTorch DDP's bucket_cap_mb), they
// make a few, and the first ones still overlap the backward pass of the layers below.
//
// The model keeps every gradient in one array, a layer's right beside the next one's, so a
// bucket is one contiguous range: a hand-over that touches it joins it; one that does not, or
// one with another weight, first sends the open bucket on.
#pragma once

#include <cstddef>

#include "engine/distributed/gradient_exchange.h"

namespace hdr {

class GradientBuckets {
 public:
  explicit GradientBuckets(size_t bucket_values) : bucket_values_(bucket_values) {}
  // values[0, count) (on the backend), to be summed with `weight`: into the open bucket, which
  // goes to the exchange once it holds bucket_values or more.
  void add(GradientExchange& exchange, float* values, size_t count, float weight);
  // Sends the open bucket, if any (the end of the backward pass).
  void flush(GradientExchange& exchange);

 private:
  size_t bucket_values_;
  float* first_ = nullptr;  // the open bucket: [first_, first_ + count_)
  size_t count_ = 0;
  float weight_ = 0;
};

}  // namespace hdr
