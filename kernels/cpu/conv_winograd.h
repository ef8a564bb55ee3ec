// 3x3 stride-1 convolutions on nChw8c tensors by Winograd's minimal filtering F(4x4, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 4x4 tile of
// the output comes from a 6x6 tile of the input through 36 products per channel pair instead of
// 144, so the multiplies fall 4x (3.4x with the tiles that overhang an 11x11 output). oneDNN 2.6
// has no Winograd kernel for AVX2, and its direct kernels ran cnn_bn's conv2 1.3-2.5x slower than
// this in its three passes (bench/README.md, eighth pass). The rounding differs from the direct
// sum (the transforms scale by up to 8 and 1/24): within 2e-5 of the sum of the terms'
// magnitudes. Each value is summed in a fixed order, so the bits do not depend on the thread
// count.
//
// A forward convolution: u = transform_weights(w), then forward(u, x). Its input gradient: u =
// transform_weights(w) with `for_input_gradient` set, then backward_data(u, dy), the forward's
// algorithm transposed over the forward's tiles. The weight gradient: backward_weights.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace hdr::cpu::winograd {

// Whether g can run here: 3x3 taps, stride 1, padding at most 2, channels and filters in whole
// blocks of 8 (the tensors are nChw8c).
bool supports(const ConvGeometry& g);

// Floats of the transformed weights: 36 x c x k.
int64_t transformed_weight_count(const ConvGeometry& g);

// u[xi][c][k] = (G w[k][c] G^T)[xi] from oihw weights, or, with for_input_gradient, the same
// products transposed: u[xi][k][c].
void transform_weights(const ConvGeometry& g, const float* w, bool for_input_gradient, float* u);

// y (n x k x out_h x out_w, nChw8c) = x (n x c x h x w, nChw8c) convolved, + bias (k, may be null).
void forward(const ConvGeometry& g, const float* u, const float* x, const float* bias, float* y);

// dx (n x c x h x w, nChw8c) = the input gradient from dy (nChw8c): for each output tile,
// B [(A dy A^T) x U] B^T added into dx over its 6x6 input window (neighbouring windows overlap;
// each image's tiles are added in order by one thread).
void backward_data(const ConvGeometry& g, const float* u, const float* dy, float* dx);

// dw (oihw, k x c x 3 x 3) = the weight gradient from x and dy (nChw8c), and dbias (may be null)
// = dy summed per filter: dw = G^T [sum over tiles of (A dy A^T) . (B^T x B)] G, the forward's
// transforms transposed. The tiles are cut into fixed slices whose sums are added in slice
// order, so the bits depend on the geometry alone, not on the threads.
void backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias);

// The multiply-adds each pass performs: 36 per output tile, channel and filter (the profiler's
// cost).
double multiply_adds(const ConvGeometry& g);

}  // namespace hdr::cpu::winograd
