// Local response normalisation across channels (ONNX LRN, AlexNet / GoogLeNet) and global max pooling, plain
// NCHW float32.
#pragma once

#include <cstdint>

namespace octet::kernels::pool {

/// y[n,c,p] = x[n,c,p] / (bias + alpha / size * sum_{c' = c - floor((size-1)/2)}^{c + ceil((size-1)/2)}
/// x[n,c',p]^2)^beta (c' limited to [0, C)). Runs images [n0, n1).
void lrn_nchw(const float* x, float* y, int64_t n0, int64_t n1, int64_t c, int64_t hw, int64_t size, float alpha,
              float beta, float bias);

/// y[p] = max over the hw elements of plane p, for planes [0, planes). NaN propagates.
void global_max_nchw(const float* x, float* y, int64_t planes, int64_t hw);

}  // namespace octet::kernels::pool
