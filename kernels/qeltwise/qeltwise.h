// Memory-bound quantized loops: QuantizeLinear / DequantizeLinear, int8 add, u8 max pooling and u8 (global)
// average pooling. Written once in plain C++ over contiguous channel runs so the compiler vectorises them; they
// move a few bytes per operation, so hand intrinsics buy little (the GEMM tiles are where the ISA matters).
//
// Every requantization here has the shape of the qgemm epilogue (qgemm.h):
//   t = float(integer) * ratio;  t = clamp(t, lo - z_y, hi - z_y);  q = round_half_even(t) + z_y
// so results are exact integers defined by float arithmetic spelled out below, identical on every machine.
#pragma once

#include <cstddef>
#include <cstdint>

namespace octet::kernels::qeltwise {

/// round_half_even(t) for |t| < 2^22 (after a clamp to the u8/s8 range it always is).
inline int32_t round_even_small(float t) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: t + kMagic has no fraction bits left
  return int32_t((t + kMagic) - kMagic);
}

/// QuantizeLinear: y = saturate(round_half_even(x / scale) + zp), u8 or s8 output (zp of that type).
void quantize_u8(const float* x, size_t n, float scale, int32_t zp, uint8_t* y);
void quantize_s8(const float* x, size_t n, float scale, int32_t zp, int8_t* y);
/// DequantizeLinear: y = float(x - zp) * scale.
void dequantize_u8(const uint8_t* x, size_t n, float scale, int32_t zp, float* y);
void dequantize_s8(const int8_t* x, size_t n, float scale, int32_t zp, float* y);
void dequantize_s32(const int32_t* x, size_t n, float scale, int32_t zp, float* y);

/// Int8 add of two u8 tensors of the same shape and layout, with their own scales:
///   t = ra * float(a - za) + rb * float(b - zb),  ra = s_a / s_y, rb = s_b / s_y   (two products, one sum)
///   y = clamp(round_half_even(t) + zy, lo, hi)           (lo = zy for a fused ReLU)
void add_u8(const uint8_t* a, const uint8_t* b, size_t n, float ra, int32_t za, float rb, int32_t zb, int32_t zy,
            int32_t lo, int32_t hi, uint8_t* y);

/// Window of a 2-D pooling (1-D is h = kh = 1).
struct PoolGeom {
  int64_t c = 1, h = 1, w = 1, oh = 1, ow = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pad_t = 0, pad_l = 0;
};

/// Max pooling of one u8 image: NHWC output rows [oy0, oy1), or NCHW planes [c0, c1). Taps outside the image
/// are skipped (MaxPool pads with -inf). Max commutes with the monotonic dequantization, so the result is the
/// quantized max with the input's scale and zero point.
void maxpool_u8_nhwc(const PoolGeom& g, const uint8_t* x, uint8_t* y, int64_t oy0, int64_t oy1);
void maxpool_u8_nchw(const PoolGeom& g, const uint8_t* x, uint8_t* y, int64_t c0, int64_t c1);

/// Global average pooling of one u8 image over hw pixels, channels [c0, c1) (ORT's QLinearGlobalAveragePool):
///   y[c] = clamp(round_half_even(float(sum_p x[p][c] - hw * zx) * scale) + zy, 0, 255),
///   scale = s_x / (s_y * float(hw))
void global_avg_u8_nhwc(const uint8_t* x, int64_t hw, int64_t c, int64_t c0, int64_t c1, float scale, int32_t zx,
                        int32_t zy, uint8_t* y);
void global_avg_u8_nchw(const uint8_t* x, int64_t hw, int64_t c0, int64_t c1, float scale, int32_t zx, int32_t zy,
                        uint8_t* y);

}  // namespace octet::kernels::qeltwise
