// IEEE half (float16) and bfloat16 <-> float32 conversions, scalar and exact: float -> 16 bits rounds to nearest,
// ties to even (as numpy, ONNX Runtime and the F16C instructions do); 16 bits -> float is exact.
#pragma once

#include <cstdint>
#include <cstring>

namespace octet::kernels {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// float -> half (F. Giesen's float_to_half_fast3_rtne). Normal halves: rebias the exponent (127 -> 15, i.e.
// subtract 112 << 23) and round the 13 dropped mantissa bits to nearest even by adding 0xfff plus the lowest kept
// bit, then shift. Results below 2^-14 are half subnormals: adding 0.5f aligns the value so that the float
// adder's own round-to-nearest-even drops the bits (the half subnormal ulp 2^-24 is the ulp of 0.5f), and the
// low mantissa bits are the half's. Magnitudes >= 65520 round to infinity; NaN stays a (quiet) NaN.
inline uint16_t f32_to_f16(float f) {
  uint32_t u = float_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  u &= 0x7fffffffu;
  if (u >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (u > 0x7f800000u ? 0x200u : 0u));
  if (u >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  if (u < 0x38800000u) {
    const uint32_t r = float_bits(bits_float(u) + 0.5f) - 0x3f000000u;
    return uint16_t(sign | r);
  }
  const uint32_t odd = (u >> 13) & 1u;
  u += 0xc8000fffu + odd;  // (15 - 127) << 23, modulo 2^32, plus the rounding bias
  return uint16_t(sign | (u >> 13));
}

// half -> float: subnormal halves m * 2^-24 are computed exactly in float; others move the exponent and mantissa.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return bits_float(sign | 0x7f800000u | (m << 13));
  if (e == 0) return bits_float(sign | float_bits(float(m) * 0x1p-24f));
  return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

// float -> bfloat16 (the top 16 bits), rounded to nearest even: add 0x7fff plus the lowest kept bit. A NaN keeps
// its sign and is made quiet so that rounding cannot turn it into infinity.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float bf16_to_f32(uint16_t b) { return bits_float(uint32_t(b) << 16); }

}  // namespace octet::kernels
