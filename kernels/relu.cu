// CUDA launchers of kernels/relu.cuh (ReLU, bias add and bias gradient).
#include "kernels/relu.cuh"
