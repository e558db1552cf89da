// The row loop of the SIMD depthwise kernels (qconv_dw_avx2.cpp, qconv_dw_avx512.cpp), written once: tap
// pointers per output pixel (stepped, not rebuilt, in the image interior), channel blocks of Block::kLanes, and
// the C % kLanes tail through zero-padded stack copies. The including file defines, before including this
// header, in namespace octet::kernels::qconv's anonymous namespace, a Block with
//   static constexpr int64_t kLanes;                    // channels per block (16 ymm, 32 zmm)
//   using Acc = ...;                                    // the block's int32 sums
//   template <int kPairs> static Acc dot(const uint8_t* const* tp, int64_t off, const int16_t* wb, int64_t pairs);
//   static void store(const Acc&, const int32_t* bias, const float* scale, const uint8_t* res,
//                     const qgemm::Epilogue&, uint8_t* dst);      // + bias, requantize, kLanes bytes
// and optionally (AVX-512: masked loads)
//   template <int kPairs> static Acc dot_masked(tp, off, wb, pairs, int64_t len);  // reads only len channels
// Compiled with the including file's ISA flags; the anonymous namespace keeps each copy private to its file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/qconv/qconv.h"

namespace octet::kernels::qconv {
namespace {

template <class Block, int kPairs>
void depthwise_rows(const Geom& g, const uint8_t* x, const DwSimdWeights& pw, const qgemm::Epilogue& epr,
                    int64_t r0, int64_t r1, uint8_t* y) {
  constexpr int64_t L = Block::kLanes;
  // A local copy: the u8 stores could alias the Epilogue's fields (char type), which would make the compiler
  // reload them and rebuild the broadcast constants after every store.
  const qgemm::Epilogue ep = epr;
  const int64_t c = g.ic, taps = g.kh * g.kw, pairs = pw.pairs, full = c / L;
  const uint8_t* tp[kDwSimdMaxTaps + 1];
  for (int64_t t = taps; t < 2 * pairs; ++t) tp[t] = pw.za_row.data();  // the odd tap's zero weights
  // Output columns [ox_lo, ox_hi) have every tap column inside the image: ix = ox*sw - pad_l + kx*dw in [0, W).
  // There, the next pixel's taps are this pixel's moved by sw pixels (or stay on za_row for rows outside the
  // image), so the pointers are stepped instead of rebuilt with their bounds checks (about 100 instructions
  // per pixel for 3x3, as much as the arithmetic of two 16-channel blocks: MobileNetV2's C = 32 layer).
  const int64_t ox_lo = std::min(g.ow, (g.pad_l + g.sw - 1) / g.sw);
  const int64_t reach = g.w - 1 + g.pad_l - (g.kw - 1) * g.dw;  // ox*sw <= reach
  const int64_t ox_hi = std::max(ox_lo, reach < 0 ? int64_t(0) : std::min(g.ow, reach / g.sw + 1));
  int64_t step[kDwSimdMaxTaps + 1] = {};
  int64_t img = r0 / (g.oh * g.ow), oy = r0 % (g.oh * g.ow) / g.ow, ox = r0 % g.ow;
  bool fresh = true;  // tp must be rebuilt (first pixel, new output row, or a border column)
  for (int64_t r = r0; r < r1; ++r) {
    if (fresh || ox <= ox_lo || ox >= ox_hi) {
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh;
        const bool row_in = iy >= 0 && iy < g.h;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ix = ox * g.sw - g.pad_l + kx * g.dw;
          const bool in = row_in && ix >= 0 && ix < g.w;
          tp[ky * g.kw + kx] = in ? x + ((img * g.h + iy) * g.w + ix) * c : pw.za_row.data();
          step[ky * g.kw + kx] = row_in ? g.sw * c : 0;
        }
      }
      fresh = false;
    } else {
      for (int64_t t = 0; t < taps; ++t) tp[t] += step[t];
    }
    const uint8_t* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
    uint8_t* dst = y + r * c;
    for (int64_t b = 0; b < full; ++b)
      Block::store(Block::template dot<kPairs>(tp, b * L, pw.w.data() + b * pairs * 2 * L, pairs),
                   pw.bias.data() + b * L, ep.scale + b * L, res ? res + b * L : nullptr, ep, dst + b * L);
    if (full * L < c) {
      // The last C % L channels: every L-byte access would run past the pixel (past the tensor for the last
      // one), so the inputs, scales and residual go through zero-padded stack copies and the output through one.
      // A Block with masked loads reads the taps in place (the copies are ten 16-byte memcpys per pixel for 3x3:
      // more than the arithmetic).
      const int64_t c0 = full * L, len = c - c0;
      const int16_t* wb = pw.w.data() + full * pairs * 2 * L;
      typename Block::Acc acc;
      if constexpr (requires { Block::template dot_masked<kPairs>(tp, c0, wb, pairs, len); }) {
        acc = Block::template dot_masked<kPairs>(tp, c0, wb, pairs, len);
      } else {
        alignas(64) uint8_t in[kDwSimdMaxTaps + 1][L] = {};
        const uint8_t* tt[kDwSimdMaxTaps + 1];
        for (int64_t t = 0; t < 2 * pairs; ++t) {
          std::memcpy(in[t], tp[t] + c0, size_t(len));
          tt[t] = in[t];
        }
        acc = Block::template dot<kPairs>(tt, 0, wb, pairs);
      }
      alignas(64) float sc[L] = {};
      alignas(64) uint8_t rs[L] = {}, out[L];
      std::memcpy(sc, ep.scale + c0, size_t(len) * sizeof(float));
      if (res) std::memcpy(rs, res + c0, size_t(len));
      Block::store(acc, pw.bias.data() + c0, sc, res ? rs : nullptr, ep, out);
      std::memcpy(dst + c0, out, size_t(len));
    }
    if (++ox == g.ow) {
      ox = 0, fresh = true;
      if (++oy == g.oh) oy = 0, ++img;
    }
  }
}

/// The entry: the common kernels (3x3: 5 pairs, 5x5: 13) with the pair loop unrolled at compile time.
template <class Block>
void depthwise_nhwc_simd(const Geom& g, const uint8_t* x, const DwSimdWeights& pw, const qgemm::Epilogue& ep,
                         int64_t r0, int64_t r1, uint8_t* y) {
  if (pw.pairs == 5)
    depthwise_rows<Block, 5>(g, x, pw, ep, r0, r1, y);
  else if (pw.pairs == 13)
    depthwise_rows<Block, 13>(g, x, pw, ep, r0, r1, y);
  else
    depthwise_rows<Block, 0>(g, x, pw, ep, r0, r1, y);
}

}  // namespace
}  // namespace octet::kernels::qconv
