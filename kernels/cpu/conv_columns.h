// A convolution's weight gradient as one matrix product, for outputs of few positions (cnn_bn's
// conv3: 3x3), where oneDNN 2.6's direct kernels run at a third to a half of the FP32 peak and
// its GEMM at 83-98% (bench/README.md): with R = n * out_h * out_w rows,
//   dw'[k][(i, j, c)] = sum over rows r of gradient_rows[k][r] * columns[r][(i, j, c)]
// where columns[r] is the input window under output position r (im2col), taps in (i, j, c)
// order so that each tap copies whole channel blocks. The CPU backend runs the product through
// the library's GEMM; these kernels lay out its operands and its result. Activations come in
// blocks of `block` channels (kernels/cpu/blocked.h; block 1 is plain NCHW). Pure copies and
// in-order sums: the bits do not depend on the threads.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace hdr::cpu {

// Floats of the columns matrix: rows x (kh * kw * c).
int64_t conv_column_count(const ConvGeometry& g);

// x (n x c x h x w in blocks of x_block channels) -> columns, zeros where a window leaves the
// input (padding).
void conv_columns(const ConvGeometry& g, int x_block, const float* x, float* columns);

// dy (n x k x out_h x out_w in blocks of dy_block channels) -> k rows of n * out_h * out_w
// values; dbias (may be null) = each row's sum, added in row order.
void conv_gradient_rows(const ConvGeometry& g, int dy_block, const float* dy, float* rows, float* dbias);

// The product's k x (kh * kw * c) result -> dw in oihw (k x c x kh x kw).
void conv_weights_from_taps(const ConvGeometry& g, const float* taps, float* dw);

}  // namespace hdr::cpu
