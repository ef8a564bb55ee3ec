// The CUDA backend's gradient exchange (engine/distributed/gradient_exchange.h) over NCCL, built where the
// CUDA toolkit has NCCL (HDR_WITH_NCCL): one NCCL communicator per rank on its GPU, its id sent
// by rank 0 over the MPI communicator.
#pragma once

#include <cuda_runtime.h>

#include <memory>

#include "engine/distributed/gradient_exchange.h"

namespace hdr::cuda {

// device: this rank's GPU; compute: the stream the backend's ops run on.
std::unique_ptr<GradientExchange> make_nccl_exchange(int device, cudaStream_t compute, Communicator& communicator);

}  // namespace hdr::cuda
