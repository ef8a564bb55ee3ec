// Model::performed_flops_per_image: the FLOPs the backend performs, for `hdr bench`'s % of peak.
// Seed 000's network (configs/cnn_bn.ini) by hand: forward 6,474,496 FLOPs per image, of which
// conv2 4,460,544 (11 x 11 x 64 x 32 x 9 x 2) and conv3 1,327,104 (3 x 3 x 128 x 64 x 9 x 2);
// a training step 3x that, less conv1's input gradient (389,376: 26 x 26 x 32 x 9 x 2), which
// never runs. On nChw8c (AVX2) Winograd runs conv2 as 9 tiles of 36 products per
// channel pair (1,327,104 FLOPs per pass) and conv3 as one tile of 25 (409,600); a single image
// runs through oneDNN's direct sums (onednn_ops.cpp, by_winograd).
#include <gtest/gtest.h>

#include <memory>

#include "engine/backends/cpu/onednn_ops.h"
#include "engine/io/config.h"
#include "engine/nn/model.h"

namespace hdr {
namespace {

TEST(ModelFlops, PerformedFlopsAreWhatTheBackendRuns) {
  const Config config = load_config("configs/cnn_bn.ini");
  const std::unique_ptr<Backend> backend = make_cpu_backend(1);
  const Model model(config.model, *backend, 64);
  ASSERT_EQ(model.forward_flops_per_image(), 6474496);
  const bool winograd = OneDnnOps::activation_block() == 8;
  const double forward_saved = (4460544.0 - 1327104.0) + (1327104.0 - 409600.0);
  EXPECT_DOUBLE_EQ(model.performed_flops_per_image(64, true),
                   3 * (6474496.0 - (winograd ? forward_saved : 0.0)) - 389376.0);
  EXPECT_DOUBLE_EQ(model.performed_flops_per_image(64, false), 6474496.0 - (winograd ? forward_saved : 0.0));
  EXPECT_DOUBLE_EQ(model.performed_flops_per_image(1, false), 6474496.0);
}

}  // namespace
}  // namespace hdr
