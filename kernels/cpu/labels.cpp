// CPU twin of gather_labels (kernels/labels.cu).
#include "kernels/ops.h"

namespace hdr::cpu {

void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) {
  for (int i = 0; i < n; ++i) out[i] = labels[indices[i]];
}

}  // namespace hdr::cpu
