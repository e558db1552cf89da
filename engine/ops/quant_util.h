// Reading quantization parameters of QDQ / QOperator nodes (and octet's internal int8 ops, which use the
// QOperator input order) at kernel creation: scales and zero points must be constants, checked here with the
// node named in every message.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/kernel.h"
#include "engine/ops/op_util.h"

namespace octet::ops {

/// Input i as a constant tensor; Error naming the role when it is computed at run time.
inline const Tensor& quant_const(const KernelInfo& info, int i, const char* role) {
  if (!info.has_input(i)) info.fail(std::string(role) + " (input " + std::to_string(i) + ") is required");
  const Tensor* t = info.in_const(i);
  if (!t)
    unsupported(info, std::string(role) + " '" + info.input(i).name + "' is computed at run time; only constant "
                "quantization parameters are supported");
  return *t;
}

/// Scales of input i: `n` positive finite floats (a scalar is broadcast to n when n > 1 and allow_broadcast).
inline std::vector<float> quant_scales(const KernelInfo& info, int i, const char* role, int64_t n = 1) {
  const Tensor& t = quant_const(info, i, role);
  if (t.dtype() != DType::f32)
    unsupported(info, std::string(role) + " '" + info.input(i).name + "' has type " + dtype_name(t.dtype()) +
                          ", only float32 scales are supported");
  if (t.numel() != 1 && t.numel() != n)
    info.fail(std::string(role) + " '" + info.input(i).name + "' has " + std::to_string(t.numel()) +
              " elements, expected 1" + (n > 1 ? " or " + std::to_string(n) : std::string()));
  std::vector<float> s(size_t(n), t.as<float>()[0]);
  if (t.numel() == n) s.assign(t.as<float>(), t.as<float>() + n);
  for (float v : s)
    if (!(v > 0) || !std::isfinite(v))
      info.fail(std::string(role) + " '" + info.input(i).name + "' holds " + std::to_string(v) +
                ", expected a positive finite scale");
  return s;
}

/// Zero points of input i (absent: 0) with element type `want`; `n` values (a scalar broadcasts).
inline std::vector<int32_t> quant_zero_points(const KernelInfo& info, int i, const char* role, DType want,
                                              int64_t n = 1) {
  if (!info.has_input(i)) return std::vector<int32_t>(size_t(n), 0);
  const Tensor& t = quant_const(info, i, role);
  if (t.dtype() != want)
    unsupported(info, std::string(role) + " '" + info.input(i).name + "' has type " + dtype_name(t.dtype()) +
                          ", expected " + dtype_name(want));
  if (t.numel() != 1 && t.numel() != n)
    info.fail(std::string(role) + " '" + info.input(i).name + "' has " + std::to_string(t.numel()) +
              " elements, expected 1 or " + std::to_string(n));
  std::vector<int32_t> z(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t src = t.numel() == 1 ? 0 : k;
    z[size_t(k)] = want == DType::u8 ? int32_t(t.as<uint8_t>()[src])
                   : want == DType::i8 ? int32_t(t.as<int8_t>()[src])
                                       : t.as<int32_t>()[src];
  }
  return z;
}

/// Round half to even of a float to an integer clamped to [lo, hi] (clip bounds of a fused activation).
inline int32_t quant_bound(float real, float scale, int32_t zp, int32_t lo, int32_t hi) {
  if (std::isinf(real)) return real < 0 ? lo : hi;
  const double q = std::nearbyint(double(real) / double(scale)) + zp;
  return int32_t(std::min<double>(hi, std::max<double>(lo, q)));
}

/// The quantized clamp [lo, hi] of a u8 output (scale, zp) after the node's fused activation: none -> [0, 255],
/// Relu -> [zp, 255] (relu(y) quantizes to max(q, zp): rounding is monotonic and 0 maps to zp), Clip(a, b) ->
/// [q(a), q(b)]. Unsupported for any other activation.
inline void quant_clamp(const KernelInfo& info, float scale, int32_t zp, int32_t& lo, int32_t& hi) {
  const Fusion& f = info.node().fusion;
  lo = 0, hi = 255;
  if (f.activation.empty()) return;
  if (f.activation == "Relu") {
    lo = std::max(lo, zp);
  } else if (f.activation == "Clip") {
    lo = quant_bound(f.alpha, scale, zp, 0, 255);
    hi = quant_bound(f.beta, scale, zp, 0, 255);
    if (lo > hi) info.fail("fused Clip has min > max");
  } else {
    unsupported(info, "fused activation '" + f.activation + "' has no int8 form (Relu and Clip have)");
  }
}

}  // namespace octet::ops
