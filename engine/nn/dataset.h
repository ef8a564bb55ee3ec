// The data a run trains on: MNIST-format IDX files split into train / validation (a seeded
// random split, seed 000's 48k / 12k) plus the test set, and their resident copies on a
// backend (uint8, uploaded once; batches are built on the device by the augment kernel).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/backends/device_array.h"
#include "engine/io/config.h"
#include "engine/io/idx.h"

namespace hdr {

struct Datasets {
  LabelledImages train, validation, test;
};

// Reads data.dir (the four IDX files), checks the images fit the model's input and splits the
// training set as the DataSpec says (a split > 0 must leave at least one validation image).
Datasets load_datasets(const DataSpec& spec, const ModelSpec& model, uint64_t seed);

// Throws InputError unless the images of `set` (from `source`, single-channel as IDX images are)
// have the model's input size.
void require_input_size(const LabelledImages& set, const ModelSpec& model, const std::string& source);

// The rows of `set` at `rows`, in that order.
LabelledImages subset(const LabelledImages& set, const std::vector<int32_t>& rows);

// A Fisher-Yates permutation of 0..n-1 drawn from Philox under key: a pure function of the key.
// Drawn on the host for both backends, not with thrust::shuffle on the device: the GPU backend
// uploads it once per epoch (240 KB for MNIST, tens of microseconds against a second-long
// epoch), one implementation keeps the CPU and GPU orders identical by construction, and the
// order stays fixed by hdr's own code, whereas thrust::shuffle's bijection belongs to the CCCL
// version, which would change a seed's run (and a resumed epoch) with the toolkit.
std::vector<int32_t> shuffled_indices(int n, const RandomKey& key);

// A labelled set resident on a backend, with the identity row order 0..count-1 (what
// evaluation and benchmarks walk through; training walks a shuffled order instead).
struct DeviceImages {
  DeviceImages(Backend& backend, const LabelledImages& set);
  DeviceArray<uint8_t> images, labels;
  DeviceArray<int32_t> rows;
  int count, h, w;
};

}  // namespace hdr
