// The scalar u8 epilogue of qgemm.h, one value at a time: the definition every tier matches, used by the
// reference (qgemm_ref), the scalar tier and the depthwise loop. An inline function, so include this header ONLY
// from baseline (x86-64) files: an inline function emitted in a file compiled with AVX flags could be picked by
// the linker for baseline callers (the reason qgemm_ukernel.h has none).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {

/// One u8 output from the accumulator `acc` (bias included), its column's scale and the residual value r
/// (ignored without a residual).
inline uint8_t requantize_u8(int32_t acc, float scale, int32_t r, const Epilogue& ep) {
  // Round half to even without a libm call: after each clamp |t| <= 510, and adding then subtracting 1.5 * 2^23
  // leaves no fraction bits, so the FPU's default round-to-nearest-even does the rounding (the result of
  // nearbyint / vcvtps2dq). Exact IEEE arithmetic: without -ffast-math the compiler may not cancel the two.
  constexpr float kMagic = 12582912.0f;
  float t = float(acc) * scale;
  if (ep.residual && ep.add_scale > 0.f) {
    float v = std::fmin(std::fmax(t, float(-ep.mid_zero_point)), float(255 - ep.mid_zero_point));
    v = (v + kMagic) - kMagic;
    const float a = ep.add_scale * v;
    const float b = ep.residual_scale * float(r - ep.residual_zero_point);
    t = a + b;
  } else if (ep.residual) {
    t = std::fma(float(r - ep.residual_zero_point), ep.residual_scale, t);
  }
  t = std::fmin(std::fmax(t, float(ep.lo - ep.zero_point)), float(ep.hi - ep.zero_point));
  return uint8_t(int32_t((t + kMagic) - kMagic) + ep.zero_point);
}

}  // namespace octet::kernels::qgemm
