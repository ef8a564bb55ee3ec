// Gathering a batch's labels from the resident dataset by the batch's index slice.
#pragma once

#include <cstdint>

#include "kernels/hd.h"

namespace hdr {

HDR_HD inline uint8_t gathered_label(const uint8_t* labels, const int32_t* indices, int i) {
  return labels[indices[i]];
}

}  // namespace hdr
