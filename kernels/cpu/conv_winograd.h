// 3x3 stride-1 convolutions on nChw8c tensors by Winograd's minimal filtering F(m x m, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each m x m tile of
// the output comes from an (m + 2) x (m + 2) tile of the input through (m + 2)^2 products per
// channel pair instead of 9 m^2. m = 4 (36 products for 16 outputs, 4x fewer; 3.4x with the tiles
// that overhang an 11x11 output) or m = 3 (25 for 9, 3.2x: a 3x3 output in one tile, as cnn_bn's
// conv3): output_tile picks the one with fewer products. oneDNN 2.6 has no Winograd kernel for
// AVX2, and its direct kernels ran cnn_bn's conv2 1.3-2.5x slower than this in its three passes
// (bench/README.md, eighth pass). The rounding differs from the direct sum (the transforms scale
// by up to 8 and 1/24): within 2e-5 of the sum of the terms' magnitudes. Each value is summed in
// a fixed order, so the bits do not depend on the thread count.
//
// A forward convolution: m = output_tile(g), u = transform_weights(g, m, w), then forward(g, m,
// u, x). Its input gradient: u = transform_weights with `for_input_gradient` set, then
// backward_data(g, m, u, dy), the forward's algorithm transposed over the forward's tiles. The
// weight gradient: backward_weights. Every call takes the tile m (3 or 4) it is to use.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace hdr::cpu::winograd {

// Whether g can run here: 3x3 taps, stride 1, padding at most 2, channels and filters in whole
// blocks of 8 (the tensors are nChw8c).
bool supports(const ConvGeometry& g);

// The batch's m x m output tiles (those at the right and bottom edges may overhang the map).
int64_t tile_count(const ConvGeometry& g, int tile);

// The output tile m (3 or 4) with the fewer products for g's output.
int output_tile(const ConvGeometry& g);

// Floats of the transformed weights: (m + 2)^2 x c x k.
int64_t transformed_weight_count(const ConvGeometry& g, int tile);

// u[xi][c][k] = (G w[k][c] G^T)[xi] from oihw weights, or, with for_input_gradient, the same
// products transposed: u[xi][k][c].
void transform_weights(const ConvGeometry& g, int tile, const float* w, bool for_input_gradient, float* u);

// y (n x k x out_h x out_w, nChw8c) = x (n x c x h x w, nChw8c) convolved, + bias (k, may be null).
void forward(const ConvGeometry& g, int tile, const float* u, const float* x, const float* bias, float* y);

// dx (n x c x h x w, nChw8c) = the input gradient from dy (nChw8c): for each output tile,
// B [(A dy A^T) x U] B^T added into dx over its (m + 2) x (m + 2) input window (neighbouring windows overlap;
// each image's tiles are added in order by one thread).
void backward_data(const ConvGeometry& g, int tile, const float* u, const float* dy, float* dx);

// dw (oihw, k x c x 3 x 3) = the weight gradient from x and dy (nChw8c), and dbias (may be null)
// = dy summed per filter: dw = G^T [sum over tiles of (A dy A^T) . (B^T x B)] G, the forward's
// transforms transposed. The tiles are cut into fixed slices whose sums are added in slice
// order, so the bits depend on the geometry alone, not on the threads.
void backward_weights(const ConvGeometry& g, int tile, const float* x, const float* dy, float* dw, float* dbias);

// The multiply-adds each pass performs: (m + 2)^2 per output tile, channel and filter (the
// profiler's cost).
double multiply_adds(const ConvGeometry& g, int tile);

}  // namespace hdr::cpu::winograd
