// Types shared by the qgemm driver and the per-ISA micro-kernels. Deliberately free of inline functions and
// templates: this header is included by files compiled with AVX-512 flags, and an inline function emitted there
// could be picked by the linker for baseline code (and raise SIGILL on an older CPU).
#pragma once

#include <cstddef>
#include <cstdint>

namespace octet::kernels::qgemm {

/// Largest tile any micro-kernel uses (the driver's padded tail buffers are this big).
inline constexpr size_t kMaxMr = 16, kMaxNr = 32;

enum class OutKind : uint8_t { u8, s32, f32 };

/// Output stage of a quantized GEMM; the exact arithmetic is spelled out in qgemm.h.
struct Epilogue {
  OutKind kind = OutKind::u8;
  const float* scale = nullptr;  // [n]; u8: s_a*s_w[j]/s_y, f32: s_a*s_w[j]; unused for s32
  int32_t zero_point = 0;        // z_y (u8 only)
  int32_t lo = 0, hi = 255;      // clamp in the quantized domain (u8 only): ReLU lo = z_y
  const uint8_t* residual = nullptr;  // optional u8 tensor added before requantization (u8 only), m x n
  size_t ld_residual = 0;             // its row stride in elements
  float residual_scale = 0.f;         // s_r / s_y
  int32_t residual_zero_point = 0;    // z_r
  // Two-stage residual (> 0: on; needs residual, u8): a QConv whose u8 output fed only a QAdd, fused, with the
  // conv's own requantization kept exact in registers (qgemm.h). scale[j] is then s_a*s_w[j]/s_1.
  float add_scale = 0.f;              // s_1 / s_y (the conv output's ratio in the add)
  int32_t mid_zero_point = 0;         // z_1 (the conv output's zero point)
  // Set by the driver (qgemm, qgemm_taps) for its tiles, whatever the caller passed: every scale[j] < 0.5, so
  // acc * scale stays far inside int32 and a micro-kernel may round it without guarding the conversion.
  bool small_scale = false;
};

/// One tile: rows [0, mr) of A (mr <= MR; rows past mr are not read), all NR columns of one packed panel
/// `w` (int32 bias[NR] then the k-steps), full k (no k blocking; k % 4 tails are read byte-exactly, never past
/// the row). Writes mr x NR elements of ep.kind at c (row stride ldc elements); ep.scale and ep.residual are
/// already offset to this tile and hold NR valid columns (the driver pads the last panel).
using UkernelFn = void (*)(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                           const Epilogue& ep);

/// The same tile over an A that comes in segments of kc bytes, taps [t0, t1) of them: segment t of row r starts
/// at a + tap_off[t] + r * lda, and the segments are consumed in order against the packed panel's depth
/// rows [t0 * kc, t1 * kc) of k = taps * kc (the panel's bias always counts). kc % 4 == 0 whenever the panel has
/// more than one segment (a segment must end on a packed k-group; a lone segment may have a tail, read
/// byte-exactly as in the GEMM). The implicit convolution (qgemm_taps in qgemm.h); t0 > 0 or t1 < taps skips
/// kernel rows that read only padding.
using TapsUkernelFn = void (*)(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a,
                               size_t lda, const void* w, void* c, size_t ldc, const Epilogue& ep);

/// The same over a convolution line's edges (horizontal padding with z_a = 0, where those products are 0): row 0
/// may skip the first `lead` k-groups of every segment (its first kernel column), row mr - 1 the last `trail`
/// (lead, trail: 0 or C / 4 for C % 4 == 0 channels). A hint - a tile may compute them all the same.
using TapsEdgeUkernelFn = void (*)(size_t mr, size_t t0, size_t t1, size_t lead, size_t trail, const ptrdiff_t* tap_off,
                                   size_t kc, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                                   const Epilogue& ep);

// Micro-kernels, one per ISA file. Call only on a CPU of that tier.
void qgemm_u8s8_4x16c4_scalar(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
void qgemm_u8s8_4x16c4_avx2(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
/// Exact only for weights with |w| <= 64 (qgemm_kernel() checks): see its file.
void qgemm_u8s8_6x16c4w7_avx2(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
void qgemm_u8s8_6x16c4_avxvnni(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
void qgemm_u8s8_12x32c4_avx512(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
void qgemm_u8s8_14x32c4_avx512vnni(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t,
                                   const Epilogue&);
void qgemm_taps_u8s8_4x16c4_avx2(size_t, size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t, const void*,
                                 void*, size_t, const Epilogue&);
void qgemm_taps_u8s8_6x16c4w7_avx2(size_t, size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t,
                                   const void*, void*, size_t, const Epilogue&);
void qgemm_taps_u8s8_6x16c4_avxvnni(size_t, size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t,
                                    const void*, void*, size_t, const Epilogue&);
void qgemm_taps_u8s8_12x32c4_avx512(size_t, size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t,
                                    const void*, void*, size_t, const Epilogue&);
void qgemm_taps_u8s8_14x32c4_avx512vnni(size_t, size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t,
                                        const void*, void*, size_t, const Epilogue&);

/// The first 16 columns of a panel only (QGemmKernel::half_ukernel), as qgemm_taps_u8s8_14x32c4_avx512vnni.
void qgemm_half_u8s8_14x32c4_avx512vnni(size_t, size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t,
                                        const void*, void*, size_t, const Epilogue&);
/// Any number of rows m of one panel, u8 output only (QGemmKernel::strip_ukernel), as qgemm_u8s8_14x32c4_avx512vnni
/// otherwise.
void qgemm_strip_u8s8_14x32c4_avx512vnni(size_t, size_t, const uint8_t*, size_t, const void*, void*, size_t,
                                         const Epilogue&);
void qgemm_taps_edges_u8s8_14x32c4_avx512vnni(size_t, size_t, size_t, size_t, size_t, const ptrdiff_t*, size_t,
                                              const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);

}  // namespace octet::kernels::qgemm
