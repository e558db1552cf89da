// Global max pooling over plain NCHW float32 planes (ONNX GlobalMaxPool).
#pragma once

#include <cstdint>

namespace octet::kernels::pool {

/// y[p] = max over the hw elements of plane p, for planes [0, planes). NaN propagates.
void global_max_nchw(const float* x, float* y, int64_t planes, int64_t hw);

}  // namespace octet::kernels::pool
