// qgemm driver: weight packing, the dispatch table, M/N blocking, tails and threading. The per-ISA files hold
// only the register tile (qgemm_u8s8_<MR>x<NR>c4_<isa>.cpp).
#include "kernels/qgemm/qgemm.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace octet::kernels::qgemm {
namespace {

// --- Packing ----------------------------------------------------------------------------------------------

// Zero-point folding. With real activations a = q_a - z_a (u8, one z_a per tensor) and symmetric weights w
// (zero point 0):
//   sum_k (q_a[k] - z_a) * w[j][k] = sum_k q_a[k] * w[j][k] - z_a * colsum(w)[j],  colsum(w)[j] = sum_k w[j][k]
// The second term depends on the weights only, so it moves into the int32 bias once, at pack time:
//   bias'[j] = bias[j] - z_a * colsum(w)[j]
// and the micro-kernels accumulate raw u8 x s8 products (exactly what vpdpbusd computes) on top of bias'.
// Padding columns (j >= n) get bias' = 0 and zero weights, so they compute 0 and are never stored.
// sum_k w[k] for one weight row (a colsum of the GEMM's B). Every weight passes through here at load, so 16
// bytes a step with SSE2's psadbw: u = w ^ 0x80 = w + 128 is unsigned, psadbw against zero adds 8 u8 into each
// 64-bit lane, and sum(w) = sum(u) - 128 * count.
int64_t row_sum_s8(const int8_t* w, size_t k) {
  size_t i = 0;
  int64_t s = 0;
#if defined(__SSE2__)
  if (k >= 16) {
    const __m128i flip = _mm_set1_epi8(char(0x80)), zero = _mm_setzero_si128();
    __m128i acc = _mm_setzero_si128();  // two 64-bit lanes: cannot overflow for any k < 2^55
    for (; i + 16 <= k; i += 16)
      acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)),
                                                          flip), zero));
    s = int64_t(_mm_cvtsi128_si64(acc)) + int64_t(_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc))) - 128 * int64_t(i);
  }
#endif
  for (; i < k; ++i) s += w[i];
  return s;
}

void pack_bias(size_t n, size_t j0, size_t nr, size_t k, const int8_t* w, size_t ldw, const int32_t* bias,
               int32_t za, int32_t* out) {
  for (size_t jj = 0; jj < nr; ++jj) {
    const size_t j = j0 + jj;
    if (j >= n) {
      out[jj] = 0;
      continue;
    }
    const int64_t colsum = row_sum_s8(w + j * ldw, k);
    out[jj] = int32_t((bias ? int64_t(bias[j]) : 0) - int64_t(za) * colsum);
  }
}

// "c4" layout for vpdpbusd (and the scalar tier): per panel of NR output channels, int32 bias'[NR], then for
// each group g of 4 inputs, NR x 4 bytes: [g][j][t] = W[j][4g + t]. One k-step of one 16-channel vector is 64
// contiguous bytes = 16 dwords, each dword the 4 weights that meet one broadcast dword of 4 activations. For
// NR = 16 this is exactly [oc/16][k/4][16][4]; for NR = 32 it is [oc/32][k/4][2][16][4] (two vectors per step).
template <int NR>
size_t panel_bytes_c4(size_t k) {
  return NR * 4 + (k + 3) / 4 * NR * 4;
}
// Packing walks the source row by row (contiguous reads of W[j][*]) and scatters into the panel. Padding (a
// partial panel's channels j >= n, a partial last group's 4g + t >= k) must be zero: such a panel is zeroed
// first and only the real weights are written. A full group of 4 weights is one 4-byte move (c4) or four
// 16-bit stores (s16): packing runs once per weight matrix at load, and this order costs about one instruction
// per weight instead of a bounds-checked read per weight in the panel's order (half of ResNet-50's creation).
template <int NR>
void pack_c4(size_t n, size_t k, const int8_t* w, size_t ldw, const int32_t* bias, int32_t za, void* out) {
  auto* p = static_cast<uint8_t*>(out);
  const size_t groups = (k + 3) / 4, full_groups = k / 4;
  for (size_t j0 = 0; j0 < n; j0 += NR) {
    pack_bias(n, j0, NR, k, w, ldw, bias, za, reinterpret_cast<int32_t*>(p));
    auto* q = reinterpret_cast<int8_t*>(p + NR * 4);
    const size_t rows = std::min<size_t>(NR, n - j0);
    if (rows < NR || full_groups < groups) std::memset(q, 0, groups * NR * 4);
    // Weight (j0 + jj, 4g + t) sits at q[(g * NR + jj) * 4 + t].
    for (size_t jj = 0; jj < rows; ++jj) {
      const int8_t* r = w + (j0 + jj) * ldw;
      int8_t* d = q + jj * 4;
      for (size_t g = 0; g < full_groups; ++g) std::memcpy(d + g * NR * 4, r + 4 * g, 4);
      for (size_t kk = 4 * full_groups; kk < k; ++kk) d[full_groups * NR * 4 + kk % 4] = r[kk];
    }
    p += panel_bytes_c4<NR>(k);
  }
}

// "s16 pairs" layout for the exact widening kernels (AVX2, AVX-512 without VNNI), which use vpmaddwd
// (s16 x s16, adjacent pairs summed into s32). A broadcast activation dword [a0 a1 a2 a3] splits with one AND
// and one 16-bit shift into the word pairs (a0, a2) and (a1, a3); the weights are stored pre-widened to match:
// per group g and per vector v of L channels, E = L dwords (w[j][4g], w[j][4g+2]) then O = L dwords
// (w[j][4g+1], w[j][4g+3]), each half an s16. madd(aE, E) + madd(aO, O) = sum of the 4 products, exactly:
// |255 * 128| * 2 < 2^31, and no 16-bit intermediate exists (unlike vpmaddubsw, which saturates at 32767).
template <int NR, int L>
size_t panel_bytes_s16(size_t k) {
  return NR * 4 + (k + 3) / 4 * NR * 8;
}
template <int NR, int L>
void pack_s16(size_t n, size_t k, const int8_t* w, size_t ldw, const int32_t* bias, int32_t za, void* out) {
  auto* p = static_cast<uint8_t*>(out);
  const size_t groups = (k + 3) / 4, full_groups = k / 4;
  for (size_t j0 = 0; j0 < n; j0 += NR) {
    pack_bias(n, j0, NR, k, w, ldw, bias, za, reinterpret_cast<int32_t*>(p));
    auto* q = reinterpret_cast<int16_t*>(p + NR * 4);
    const size_t rows = std::min<size_t>(NR, n - j0);
    if (rows < NR || full_groups < groups) std::memset(q, 0, groups * NR * 8);
    // Channel jj = v*L + l of group g: its E pair (w[4g], w[4g+2]) is int16 number g*4NR + v*4L + 2l, its O pair
    // (w[4g+1], w[4g+3]) follows 2L int16s later (the order of the loops of the layout's description above).
    for (size_t jj = 0; jj < rows; ++jj) {
      const int8_t* r = w + (j0 + jj) * ldw;
      int16_t* d = q + (jj / L) * 4 * L + (jj % L) * 2;
      size_t g = 0;
#if defined(__SSE2__)
      // Four groups (16 weights) per step: widen to s16 (unpack with itself, arithmetic shift), swap the middle
      // pair of each group ([w0 w1 w2 w3] -> [w0 w2 w1 w3]), so its dwords are E_g, O_g, E_g+1, O_g+1; then
      // scalar dword stores to the strided places. About 2 instructions per weight instead of 5.
      for (; g + 4 <= full_groups; g += 4) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + 4 * g));
        const __m128i halves[2] = {_mm_srai_epi16(_mm_unpacklo_epi8(x, x), 8),
                                   _mm_srai_epi16(_mm_unpackhi_epi8(x, x), 8)};
        for (int h = 0; h < 2; ++h) {
          const __m128i y = _mm_shufflehi_epi16(_mm_shufflelo_epi16(halves[h], 0xD8), 0xD8);
          const uint64_t a = uint64_t(_mm_cvtsi128_si64(y)), b = uint64_t(_mm_cvtsi128_si64(_mm_srli_si128(y, 8)));
          int16_t* e0 = d + (g + 2 * h) * 4 * NR;
          int16_t* e1 = e0 + 4 * NR;
          const uint32_t e0_e = uint32_t(a), e0_o = uint32_t(a >> 32), e1_e = uint32_t(b), e1_o = uint32_t(b >> 32);
          std::memcpy(e0, &e0_e, 4);
          std::memcpy(e0 + 2 * L, &e0_o, 4);
          std::memcpy(e1, &e1_e, 4);
          std::memcpy(e1 + 2 * L, &e1_o, 4);
        }
      }
#endif
      for (; g < full_groups; ++g) {
        int16_t* e = d + g * 4 * NR;
        e[0] = r[4 * g];
        e[1] = r[4 * g + 2];
        e[2 * L] = r[4 * g + 1];
        e[2 * L + 1] = r[4 * g + 3];
      }
      for (size_t kk = 4 * full_groups; kk < k; ++kk) {
        const size_t t = kk % 4;  // t = odd + 2 * second
        d[full_groups * 4 * NR + (t & 1) * 2 * L + (t >> 1)] = r[kk];
      }
    }
    p += panel_bytes_s16<NR, L>(k);
  }
}

// --- The table ----------------------------------------------------------------------------------------------

const QGemmKernel kKernels[] = {
    {Isa::scalar, "qgemm_u8s8_4x16c4_scalar", 4, 16, 4, qgemm_u8s8_4x16c4_scalar, panel_bytes_c4<16>, pack_c4<16>},
    {Isa::avx2, "qgemm_u8s8_4x16c4_avx2", 4, 16, 4, qgemm_u8s8_4x16c4_avx2, panel_bytes_s16<16, 8>, pack_s16<16, 8>,
     128, qgemm_taps_u8s8_4x16c4_avx2},
    {Isa::avx2, "qgemm_u8s8_6x16c4w7_avx2", 6, 16, 4, qgemm_u8s8_6x16c4w7_avx2, panel_bytes_c4<16>, pack_c4<16>, 64,
     qgemm_taps_u8s8_6x16c4w7_avx2},
    {Isa::avxvnni, "qgemm_u8s8_6x16c4_avxvnni", 6, 16, 4, qgemm_u8s8_6x16c4_avxvnni, panel_bytes_c4<16>, pack_c4<16>,
     128, qgemm_taps_u8s8_6x16c4_avxvnni},
    {Isa::avx512, "qgemm_u8s8_12x32c4_avx512", 12, 32, 4, qgemm_u8s8_12x32c4_avx512, panel_bytes_s16<32, 16>,
     pack_s16<32, 16>, 128, qgemm_taps_u8s8_12x32c4_avx512},
    {Isa::avx512vnni, "qgemm_u8s8_14x32c4_avx512vnni", 14, 32, 4, qgemm_u8s8_14x32c4_avx512vnni, panel_bytes_c4<32>,
     pack_c4<32>, 128, qgemm_taps_u8s8_14x32c4_avx512vnni, qgemm_taps_edges_u8s8_14x32c4_avx512vnni,
     qgemm_half_u8s8_14x32c4_avx512vnni, qgemm_strip_u8s8_14x32c4_avx512vnni},
};

size_t elem_bytes(OutKind k) { return k == OutKind::u8 ? 1 : 4; }

void check(const QGemmKernel& kernel, const Epilogue& ep) {
  if (size_t(kernel.mr) > kMaxMr || size_t(kernel.nr) > kMaxNr) throw std::invalid_argument("qgemm: tile larger than driver buffers");
  if (ep.kind != OutKind::s32 && !ep.scale) throw std::invalid_argument("qgemm: epilogue needs scale[n]");
  if (ep.kind == OutKind::u8) {
    if (ep.lo < 0 || ep.hi > 255 || ep.lo > ep.hi)
      throw std::invalid_argument("qgemm: u8 clamp [" + std::to_string(ep.lo) + ", " + std::to_string(ep.hi) +
                                  "] is not inside [0, 255]");
    if (ep.zero_point < 0 || ep.zero_point > 255)
      throw std::invalid_argument("qgemm: u8 output zero point " + std::to_string(ep.zero_point) +
                                  " is not in [0, 255]");
  } else if (ep.residual) {
    throw std::invalid_argument("qgemm: a residual needs u8 output");
  }
  if (ep.add_scale > 0.f && (!ep.residual || ep.mid_zero_point < 0 || ep.mid_zero_point > 255))
    throw std::invalid_argument("qgemm: a two-stage epilogue needs a residual and a u8 middle zero point");
}

}  // namespace

const QGemmKernel* qgemm_kernel_for(Isa tier) {
  for (const QGemmKernel& k : kKernels)
    if (k.isa == tier && k.max_abs_weight >= 128) return &k;
  return nullptr;
}

std::span<const QGemmKernel> qgemm_kernels() { return kKernels; }

const QGemmKernel& qgemm_kernel(Isa limit, int max_abs_weight) {
  const Isa top = clamp_isa(limit, max_isa());
  const QGemmKernel* best = &kKernels[0];
  // kKernels is ordered by tier, a tier's restricted kernel after its general one: the last admissible wins.
  for (const QGemmKernel& k : kKernels)
    if (int(k.isa) <= int(top) && int(k.isa) >= int(best->isa) && max_abs_weight <= k.max_abs_weight) best = &k;
  return *best;
}

int max_abs_s8(const int8_t* w, size_t n) {
  // Every layer's weights pass through here at load (25 M bytes for ResNet-50), so 16 at a time. SSE2 has
  // unsigned byte max/min only: u = w ^ 0x80 = w + 128 maps s8 onto u8 in order, and
  // max |w| = max(max(w), -min(w)) = max(max(u) - 128, 128 - min(u)).
  size_t i = 0;
  int hi = 0, lo = 0;  // max(w) and min(w) so far (0 when n == 0: the answer is then 0)
#if defined(__SSE2__)
  if (n >= 16) {
    const __m128i flip = _mm_set1_epi8(char(0x80));
    __m128i vmax = _mm_setzero_si128(), vmin = _mm_set1_epi8(char(0xff));
    for (; i + 16 <= n; i += 16) {
      const __m128i u = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)), flip);
      vmax = _mm_max_epu8(vmax, u);
      vmin = _mm_min_epu8(vmin, u);
    }
    alignas(16) uint8_t mx[16], mn[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(mx), vmax);
    _mm_store_si128(reinterpret_cast<__m128i*>(mn), vmin);
    for (int l = 0; l < 16; ++l) {
      hi = std::max(hi, int(mx[l]) - 128);
      lo = std::min(lo, int(mn[l]) - 128);
    }
  }
#endif
  for (; i < n; ++i) {
    hi = std::max(hi, int(w[i]));
    lo = std::min(lo, int(w[i]));
  }
  return std::max(hi, -lo);
}

// --- The driver ---------------------------------------------------------------------------------------------
//
// Loop order: M blocks of MC rows (their A, output and residual rows stay in L2) > N panels (one panel of packed
// weights, read once per M block) > MR tiles of the block (the panel stays in L1/L2 while the rows stream past
// it). Work is the flat list of (M block, panel, tile) in that order; threads take contiguous ranges of it, so
// each thread keeps the same locality. Tails: m < MR is handled inside the micro-kernel (it reads and writes only mr rows);
// the last panel's n < NR columns go through a padded local tile (scale, residual and output), so micro-kernels
// always see NR valid columns and never touch memory past the caller's buffers.
//
// The GEMM and the implicit convolution differ only in where a tile's rows are (`locate`: tile index -> first
// output row, row count, A), which micro-kernel entry reads them (`call`) and how many bytes of A a block of
// tiles holds (`a_bytes_per_tile`: k * MR for a GEMM; far less for a convolution's tiles, which share their
// input rows).
namespace {

struct TileRows {
  size_t row0, rows;
  const uint8_t* a;
  size_t t0 = 0, t1 = 0;  // qgemm_taps: the segments the tile reads (TapsA::tap_range)
};

template <class Locate, class Call, class Strip>
void drive(const QGemmKernel& kernel, size_t tiles_m, size_t n, size_t k, const void* packed, const Epilogue& ep,
           void* c, size_t ldc, Parallel* par, size_t a_bytes_per_tile, const Locate& locate, const Call& call,
           const Strip& strip) {
  const size_t nr = size_t(kernel.nr);
  const size_t panels = (n + nr - 1) / nr;
  const size_t panel_bytes = kernel.panel_bytes(k);
  // A block's A, output and residual rows stay in L2 while its panels pass: a panel writes its NR columns of
  // each output row, the next panel the next ones (a line read for ownership once, not once per panel), and
  // each residual line is read by two panels. Counting only A (128 KB), ResNet-50's residual-fused 64->256 1x1
  // conv on 56x56 had 1.2 MB in flight per block: 248 -> 223 us with these 384 KB (min of 3, weights cold).
  const size_t row_bytes = n * elem_bytes(ep.kind) + (ep.residual ? n : 0);
  const size_t tile_bytes = a_bytes_per_tile + size_t(kernel.mr) * row_bytes;
  const size_t mc_tiles = std::max<size_t>(1, (size_t(384) << 10) / std::max<size_t>(1, tile_bytes));
  const size_t esize = elem_bytes(ep.kind);
  const auto* wbase = static_cast<const uint8_t*>(packed);
  auto* cbase = static_cast<uint8_t*>(c);

  bool small_scale = ep.kind == OutKind::u8;
  for (size_t j = 0; small_scale && j < n; ++j) small_scale = std::fabs(ep.scale[j]) < 0.5f;

  // The epilogue of the tile (or strip) whose first row is row0, in the panel from column j0 on.
  auto epilogue_at = [&](size_t row0, size_t j0) {
    Epilogue e = ep;
    e.small_scale = small_scale;
    if (e.scale) e.scale += j0;
    if (e.residual) e.residual += row0 * e.ld_residual + j0;
    return e;
  };
  auto run_tile = [&](size_t tm, size_t p) {
    const TileRows t = locate(tm);
    const size_t j0 = p * nr, cols = std::min(nr, n - j0);
    const void* wt = wbase + p * panel_bytes;
    Epilogue e = epilogue_at(t.row0, j0);
    uint8_t* ct = cbase + (t.row0 * ldc + j0) * esize;
    if (cols == nr || (cols * 2 == nr && kernel.half_ukernel)) {
      call(t, wt, ct, ldc, e, cols < nr);
      return;
    }
    alignas(64) float scale_pad[kMaxNr] = {};
    alignas(64) uint8_t res_pad[kMaxMr * kMaxNr] = {};
    alignas(64) uint8_t out_pad[kMaxMr * kMaxNr * 4];
    if (e.scale) {
      std::memcpy(scale_pad, e.scale, cols * sizeof(float));
      e.scale = scale_pad;
    }
    if (e.residual) {
      for (size_t r = 0; r < t.rows; ++r) std::memcpy(res_pad + r * nr, e.residual + r * e.ld_residual, cols);
      e.residual = res_pad;
      e.ld_residual = nr;
    }
    call(t, wt, out_pad, nr, e, false);
    for (size_t r = 0; r < t.rows; ++r) std::memcpy(ct + r * ldc * esize, out_pad + r * nr * esize, cols * esize);
  };

  // Tiles [tm, tm + count) of panel p: one strip call when the kernel and the caller have one (full panels of
  // u8 output), else tile by tile.
  auto run_tiles = [&](size_t tm, size_t count, size_t p) {
    const size_t j0 = p * nr;
    if (kernel.strip_ukernel && ep.kind == OutKind::u8 && count > 1 && n - j0 >= nr) {
      const TileRows first = locate(tm);
      if (strip(first, tm, count, wbase + p * panel_bytes, cbase + (first.row0 * ldc + j0) * esize, ldc,
                epilogue_at(first.row0, j0)))
        return;
    }
    for (size_t i = 0; i < count; ++i) run_tile(tm + i, p);
  };

  const size_t blocks = (tiles_m + mc_tiles - 1) / mc_tiles;
  const size_t total = tiles_m * panels;
  parallel_for(par, int64_t(total), [&](int64_t begin, int64_t end) {
    if (begin >= end) return;
    // Decode the first item t -> (block b, panel p, tile i within the block; blocks are full except the last)
    // once, then step through the range with counters: three 64-bit divisions per tile cost ~25% of a k = 64
    // tile (ResNet-50's 1x1 convs on 56x56: 16 k-steps of ~12 cycles each).
    const size_t per_block = mc_tiles * panels;
    size_t b = size_t(begin) / per_block;
    size_t block_tiles = b + 1 < blocks ? mc_tiles : tiles_m - b * mc_tiles;
    const size_t rest = size_t(begin) - b * per_block;
    size_t p = rest / block_tiles, i = rest % block_tiles;
    for (int64_t t = begin; t < end;) {
      // The rest of this panel's tiles in the block, within the range: one run.
      const size_t run = std::min(block_tiles - i, size_t(end - t));
      run_tiles(b * mc_tiles + i, run, p);
      t += int64_t(run);
      i += run;
      if (i == block_tiles) {
        i = 0;
        if (++p == panels) {
          p = 0;
          ++b;
          block_tiles = b + 1 < blocks ? mc_tiles : tiles_m - b * mc_tiles;
        }
      }
    }
  });
}

}  // namespace

void qgemm(const QGemmKernel& kernel, size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
           const void* packed, const Epilogue& ep, void* c, size_t ldc, Parallel* par) {
  check(kernel, ep);
  if (m == 0 || n == 0) return;
  const size_t mr = size_t(kernel.mr);
  drive(
      kernel, (m + mr - 1) / mr, n, k, packed, ep, c, ldc, par, k * mr,
      [&](size_t tm) {
        const size_t i0 = tm * mr;
        return TileRows{i0, std::min(mr, m - i0), a + i0 * lda};
      },
      [&](const TileRows& t, const void* wt, void* ct, size_t ldct, const Epilogue& e, bool half) {
        static constexpr ptrdiff_t kNoOffset[1] = {0};
        if (half)
          kernel.half_ukernel(t.rows, 0, 1, kNoOffset, k, t.a, lda, wt, ct, ldct, e);
        else
          kernel.ukernel(t.rows, k, t.a, lda, wt, ct, ldct, e);
      },
      [&](const TileRows& first, size_t tm, size_t count, const void* wt, void* ct, size_t ldct, const Epilogue& e) {
        // The tiles' rows are contiguous: rows [first.row0, end of tile tm + count - 1).
        kernel.strip_ukernel(std::min(m, (tm + count) * mr) - first.row0, k, first.a, lda, wt, ct, ldct, e);
        return true;
      });
}

void qgemm_taps(const QGemmKernel& kernel, const TapsA& a, size_t n, const void* packed, const Epilogue& ep,
                void* c, size_t ldc, Parallel* par) {
  check(kernel, ep);
  if (!kernel.taps_ukernel) throw std::invalid_argument(std::string("qgemm_taps: ") + kernel.name +
                                                        " has no segmented-A entry");
  if (a.taps > 1 && a.kc % 4 != 0) throw std::invalid_argument("qgemm_taps: kc must be a multiple of 4");
  if (a.tap_range)
    for (size_t y = 0; y < a.lines_per_image; ++y)
      if (a.tap_range[2 * y] > a.tap_range[2 * y + 1] || a.tap_range[2 * y + 1] > a.taps)
        throw std::invalid_argument("qgemm_taps: tap_range of line " + std::to_string(y) + " is not inside [0, " +
                                    std::to_string(a.taps) + "]");
  if (a.lines == 0 || a.line_len == 0 || n == 0) return;
  const size_t mr = size_t(kernel.mr);
  // Tiles never cross a line: line L holds tiles [L * per_line, (L + 1) * per_line), the last one short when
  // line_len % mr != 0.
  const size_t per_line = (a.line_len + mr - 1) / mr;
  // A block of tiles reads its lines' input rows, each one shared by up to KH lines: about a line's row bytes
  // per tile (line_step / per_line), not the k * MR of a GEMM - so the weights stream from memory once for
  // ResNet-50's 14x14 and 7x7 convs (2.4 MB on layer 4) instead of once per 2-4 lines.
  drive(
      kernel, a.lines * per_line, n, a.taps * a.kc, packed, ep, c, ldc, par,
      std::max<size_t>(1, a.line_step / per_line),
      [&](size_t tm) {
        const size_t line = tm / per_line, p0 = (tm % per_line) * mr;
        const size_t img = line / a.lines_per_image, y = line % a.lines_per_image;
        return TileRows{line * a.line_len + p0, std::min(mr, a.line_len - p0),
                        a.a + img * a.image_step + y * a.line_step + p0 * a.lda, a.tap_range ? a.tap_range[2 * y] : 0,
                        a.tap_range ? a.tap_range[2 * y + 1] : a.taps};
      },
      [&](const TileRows& t, const void* wt, void* ct, size_t ldct, const Epilogue& e, bool half) {
        if (half) {
          kernel.half_ukernel(t.rows, t.t0, t.t1, a.tap_off, a.kc, t.a, a.lda, wt, ct, ldct, e);
          return;
        }
        const size_t p0 = (t.row0 % a.line_len);  // the tile's first pixel in its line
        const size_t lead = p0 == 0 ? a.lead : 0, trail = p0 + t.rows == a.line_len ? a.trail : 0;
        if ((lead || trail) && kernel.taps_edge_ukernel)
          kernel.taps_edge_ukernel(t.rows, t.t0, t.t1, lead, trail, a.tap_off, a.kc, t.a, a.lda, wt, ct, ldct, e);
        else
          kernel.taps_ukernel(t.rows, t.t0, t.t1, a.tap_off, a.kc, t.a, a.lda, wt, ct, ldct, e);
      },
      [](const TileRows&, size_t, size_t, const void*, void*, size_t, const Epilogue&) { return false; });
}

}  // namespace octet::kernels::qgemm
