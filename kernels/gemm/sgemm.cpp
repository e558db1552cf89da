// The generic SGEMM driver: blocking, packing, tails, threading and the epilogue. ISA files hold only tiles.
//
// Loop nest (BLIS order), for one thread's share of rows [m0, m1) and B strips [s0, s1):
//   for each group of strips (NC columns, so a KC x NC panel of packed B stays in L2)
//     for each K block of KC        (first block stores, later ones accumulate into C)
//       for each M block of MC       (pack A rows x KC, alpha folded in: alpha*(A*B) = (alpha*A)*B)
//         for each strip (nr columns: its KC x nr slice of B stays in L1 across the M block)
//           for each mr rows: micro-kernel; after the last K block, the epilogue on the tile while in L1.
#include "kernels/gemm/sgemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/eltwise/unary_math.h"

namespace octet::kernels::gemm {
namespace {

constexpr int64_t kKc = 256;       // K block: a KC x nr strip of B is 16 KB (avx2), half of L1
constexpr int64_t kNcCols = 512;   // N block: a KC x NC panel of packed B is 512 KB, the L2 of a Zen 3 core

int64_t mc_of(const SgemmKernel& k) { return int64_t(k.mr) * (k.mr >= 12 ? 8 : 16); }  // 96 rows for 6x16
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
size_t packed_a_floats(const SgemmKernel& k) { return size_t(mc_of(k)) * kKc; }
size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

// One full strip of MR rows from a row-major A (a_cs == 1): MR row pointers, MR compile-time stores per p. The
// generic loop below recomputes r*a_rs + p*a_cs per element and was ~20% of a conv-as-GEMM's time (perf,
// K = 1152); this form streams the MR rows sequentially and writes out contiguously.
template <int MR>
void pack_a_strip(const float* a, int64_t a_rs, int64_t kc, float alpha, float* o) {
  const float* rp[MR];
  for (int r = 0; r < MR; ++r) rp[r] = a + r * a_rs;
  if (alpha == 1.f) {
    for (int64_t p = 0; p < kc; ++p, o += MR)
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) o[r] = rp[r][p];
  } else {
    for (int64_t p = 0; p < kc; ++p, o += MR)
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) o[r] = alpha * rp[r][p];
  }
}

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of alpha*A into strips of mr rows: out[strip][p][r].
void pack_a(const SgemmKernel& uk, const SgemmArgs& g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  const int mr = uk.mr;
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int rows = int(std::min<int64_t>(mr, mc - ir));
    float* o = out + ir * kc;
    const float* a = g.a + (i0 + ir) * g.a_rs + p0 * g.a_cs;
    if (rows == mr && g.a_cs == 1) {
      if (mr == 6) {
        pack_a_strip<6>(a, g.a_rs, kc, g.alpha, o);
        continue;
      }
      if (mr == 4) {
        pack_a_strip<4>(a, g.a_rs, kc, g.alpha, o);
        continue;
      }
      if (mr == 12) {
        pack_a_strip<12>(a, g.a_rs, kc, g.alpha, o);
        continue;
      }
    }
    for (int64_t p = 0; p < kc; ++p) {
      int r = 0;
      for (; r < rows; ++r) o[p * mr + r] = g.alpha * a[r * g.a_rs + p * g.a_cs];
      for (; r < mr; ++r) o[p * mr + r] = 0.f;
    }
  }
}

struct Part {
  int64_t m0, m1, s0, s1;
};

// Static split into `threads` parts: by B strips when there are enough of them (each thread then streams
// its own slice of B, the larger operand for small M), else by rows in multiples of mr.
std::vector<Part> split_parts(int64_t m, int64_t strips, int mr, int threads) {
  std::vector<Part> parts;
  const int64_t row_blocks = ceil_div(m, mr);
  if (threads == 1) {
    parts.push_back({0, m, 0, strips});
  } else if (strips >= 4 * threads || row_blocks < 2 * threads) {
    const int64_t t = std::min<int64_t>(threads, strips);
    for (int64_t i = 0; i < t; ++i) parts.push_back({0, m, strips * i / t, strips * (i + 1) / t});
  } else {
    for (int64_t i = 0; i < threads; ++i)
      parts.push_back({std::min(m, row_blocks * i / threads * mr), std::min(m, row_blocks * (i + 1) / threads * mr),
                       0, strips});
  }
  return parts;
}

// The epilogue the tile applies in registers, when it can: a per-column bias (scale 1) and relu/clip. Any other
// epilogue runs after the tile (sgemm_epilogue). Returns whether the tile takes it; *bias is the bias addend.
bool tile_fusable(const Addend (&add)[2], const Activation& act, const Addend** bias) {
  *bias = nullptr;
  int addends = 0;
  for (const Addend& ad : add)
    if (ad.data) ++addends, *bias = &ad;
  return (act.kind == Activation::none || act.kind == Activation::relu || act.kind == Activation::clip) &&
         (addends == 0 || (addends == 1 && (*bias)->rs == 0 && (*bias)->cs == 1 && (*bias)->scale == 1.f));
}

// One thread's share of C.
void compute_part(const SgemmKernel& uk, const SgemmArgs& g, const float* packed_b, const Part& part, float* apack) {
  const int mr = uk.mr, nr = uk.nr;
  const int64_t mc_max = mc_of(uk), strips_per_nc = std::max<int64_t>(1, kNcCols / nr);
  alignas(64) float tile[kMaxMr * 32];
  // A read in place (no pack) when the tier has a strided tile and A is row-major with alpha 1 (conv patches,
  // an NHWC image, a plain MatMul operand): a conv's N of 64..256 columns does too little work per element of A
  // (N/16 tile steps) to pay for a copy of it.
  const bool in_place = uk.rows_strided[1] && g.a_cs == 1 && g.alpha == 1.f;
  // The strided tile also applies a per-column bias (scale 1) and relu/clip in registers on the last K block;
  // any other epilogue runs after the tile (sgemm_epilogue).
  const Addend* bias = nullptr;
  const bool fuse = in_place && tile_fusable(g.add, g.act, &bias);
  const Activation::Kind act = g.act.kind;
  alignas(32) float bias_tail[32] = {};
  for (int64_t sb = part.s0; sb < part.s1; sb += strips_per_nc) {
    const int64_t se = std::min(part.s1, sb + strips_per_nc);
    for (int64_t pc = 0; pc < g.k; pc += kKc) {
      const int64_t kc = std::min(kKc, g.k - pc);
      const bool accumulate = pc > 0 || g.accumulate, last = pc + kc >= g.k;
      for (int64_t ic = part.m0; ic < part.m1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, part.m1 - ic);
        if (!in_place) pack_a(uk, g, ic, mc, pc, kc, apack);
        for (int64_t s = sb; s < se; ++s) {
          const float* bp = packed_b + s * g.k * nr + pc * nr;
          const int64_t j0 = s * nr, cols = std::min<int64_t>(nr, g.n - j0);
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int rows = int(std::min<int64_t>(mr, mc - ir));
            const float* ap = in_place ? g.a + (ic + ir) * g.a_rs + pc : apack + ir * kc;
            float* cp = g.c + (ic + ir) * g.ldc + j0;
            TileEpilogue ep;
            if (fuse && last) {
              ep.relu = act == Activation::relu, ep.clip = act == Activation::clip;
              ep.lo = g.act.alpha, ep.hi = g.act.beta;
              if (bias && cols == nr) {
                ep.bias = bias->data + j0;
              } else if (bias) {  // the tile reads nr floats of bias: pad the tail with zeros
                std::copy_n(bias->data + j0, cols, bias_tail);
                ep.bias = bias_tail;
              }
            }
            auto tile_to = [&](float* dst, int64_t ldd) {
              if (in_place)
                uk.rows_strided[rows](kc, ap, g.a_rs, bp, dst, ldd, accumulate, fuse && last ? &ep : nullptr);
              else
                uk.rows[rows](kc, ap, bp, dst, ldd, accumulate);
            };
            if (cols == nr) {
              tile_to(cp, g.ldc);
            } else {
              // Column tail: the tile always stores nr columns, so it goes through a scratch tile.
              if (accumulate)
                for (int r = 0; r < rows; ++r) std::memcpy(tile + r * nr, cp + r * g.ldc, size_t(cols) * 4);
              tile_to(tile, nr);
              for (int r = 0; r < rows; ++r) std::memcpy(cp + r * g.ldc, tile + r * nr, size_t(cols) * 4);
            }
            if (last && !fuse) sgemm_epilogue(g, ic + ir, j0, rows, cols, cp, g.ldc);
          }
        }
      }
    }
  }
}

// One thread's share of an indirect GEMM. The same loop nest as compute_part (A is never packed: the tile reads
// the rows through their pointers), with K blocks that never split a row pointer's run: whole taps when a tap is
// shallower than KC (C = 64: 4 taps = 256 deep per block), else one tap in near-equal channel chunks of at most
// KC (C = 512: 2 x 256). The B slice of a block is contiguous either way: p runs from t0*C + c0 to t1*C or
// t0*C + c0 + cc.
void compute_part_indirect(const SgemmKernel& uk, const SgemmIndirectArgs& g, const Part& part) {
  const int mr = uk.mr, nr = uk.nr;
  const int64_t mc_max = mc_of(uk), strips_per_nc = std::max<int64_t>(1, kNcCols / nr);
  const int64_t ch = g.channels, k = g.taps * ch;
  const int64_t taps_per = ch >= kKc ? 1 : std::max<int64_t>(1, kKc / ch);
  const int64_t cc_max = ch >= kKc ? ceil_div(ch, ceil_div(ch, kKc)) : ch;
  const Addend* bias = nullptr;
  const bool fuse = tile_fusable(g.add, g.act, &bias);
  SgemmArgs eg;  // the epilogue's view of g, for sgemm_epilogue
  eg.add[0] = g.add[0], eg.add[1] = g.add[1], eg.act = g.act;
  alignas(64) float tile[kMaxMr * 32];
  alignas(32) float bias_tail[32] = {};
  for (int64_t sb = part.s0; sb < part.s1; sb += strips_per_nc) {
    const int64_t se = std::min(part.s1, sb + strips_per_nc);
    for (int64_t t0 = 0; t0 < g.taps; t0 += taps_per) {
      const int64_t nt = std::min(taps_per, g.taps - t0);
      for (int64_t c0 = 0; c0 < ch; c0 += cc_max) {
        const int64_t cc = std::min(cc_max, ch - c0);
        const bool accumulate = t0 > 0 || c0 > 0 || g.accumulate, last = t0 + nt >= g.taps && c0 + cc >= ch;
        for (int64_t ic = part.m0; ic < part.m1; ic += mc_max) {
          const int64_t mc = std::min(mc_max, part.m1 - ic);
          for (int64_t s = sb; s < se; ++s) {
            const float* bp = g.packed_b + s * k * nr + (t0 * ch + c0) * nr;
            const int64_t j0 = s * nr, cols = std::min<int64_t>(nr, g.n - j0);
            TileEpilogue ep;
            if (fuse && last) {
              ep.relu = g.act.kind == Activation::relu, ep.clip = g.act.kind == Activation::clip;
              ep.lo = g.act.alpha, ep.hi = g.act.beta;
              if (bias && cols == nr) {
                ep.bias = bias->data + j0;
              } else if (bias) {  // the tile reads nr floats of bias: pad the tail with zeros
                std::copy_n(bias->data + j0, cols, bias_tail);
                ep.bias = bias_tail;
              }
            }
            const TileEpilogue* epp = fuse && last ? &ep : nullptr;
            // The slice of B the tiles read next: strip s + 1 of this K block, else (a new M block, or the next
            // K block) strip sb. Its lines are prefetched while this slice's tiles run, spread over the full
            // tiles: each takes ceil(lines / tiles) of them, one per depth step. ResNet-50 layer4 3x3 (M = 49,
            // 9 tiles per 16 KB slice, 576 slices of 9.4 MB): min CPU ms per round of 5, 6 interleaved rounds,
            // median 3.19 (2.99-3.38) vs 3.89 (3.65-4.48) without; layer3 3x3 (33 tiles per slice) unchanged.
            const float* next = nullptr;
            if (s + 1 < se)
              next = bp + k * nr;
            else if (ic + mc < part.m1)
              next = g.packed_b + sb * k * nr + (t0 * ch + c0) * nr;
            else if (c0 + cc < ch)
              next = g.packed_b + sb * k * nr + (t0 * ch + c0 + cc) * nr;
            else if (t0 + nt < g.taps)
              next = g.packed_b + sb * k * nr + (t0 + nt) * ch * nr;
            const int64_t next_depth = next == nullptr ? 0
                                       : s + 1 < se || ic + mc < part.m1 ? nt * cc
                                       : c0 + cc < ch ? std::min(cc_max, ch - c0 - cc)
                                                      : std::min(taps_per, g.taps - t0 - nt) * std::min(cc_max, ch);
            const int64_t lines = next_depth * nr / 16, full_tiles = std::max<int64_t>(1, mc / mr);
            const int64_t per_tile = ceil_div(lines, full_tiles);
            for (int64_t ir = 0; ir < mc; ir += mr) {
              const int rows = int(std::min<int64_t>(mr, mc - ir));
              // part.m0 and MC are multiples of mr, so row ic + ir starts a tile of the table.
              const float* const* ap = g.a + (ic + ir) / mr * g.taps * mr + t0 * mr;
              float* cp = g.c + (ic + ir) * g.ldc + j0;
              const int64_t done = ir / mr * per_tile, pf_lines = std::clamp<int64_t>(lines - done, 0, per_tile);
              const float* pf = pf_lines > 0 ? next + done * 16 : nullptr;
              if (cols == nr) {
                uk.rows_indirect[rows](nt, cc, ap, c0, bp, cp, g.ldc, accumulate, epp, pf, pf_lines);
              } else {
                if (accumulate)
                  for (int r = 0; r < rows; ++r) std::memcpy(tile + r * nr, cp + r * g.ldc, size_t(cols) * 4);
                uk.rows_indirect[rows](nt, cc, ap, c0, bp, tile, nr, accumulate, epp, pf, pf_lines);
                for (int r = 0; r < rows; ++r) std::memcpy(cp + r * g.ldc, tile + r * nr, size_t(cols) * 4);
              }
              if (last && !fuse) sgemm_epilogue(eg, ic + ir, j0, rows, cols, cp, g.ldc);
            }
          }
        }
      }
    }
  }
}

/// y = op(y) in place over one row, on the best unary math kernel this process may use.
void unary_row(eltwise::UnaryOp op, const eltwise::UnaryParams& p, float* y, int64_t n) {
  static const eltwise::UnaryTable& t = eltwise::unary_table(max_isa());
  t.run(op, p, y, y, n);
}

float activate(const Activation& act, float v) {
  switch (act.kind) {
    case Activation::none: return v;
    case Activation::relu: return v > 0.f ? v : 0.f;
    case Activation::leaky_relu: return v >= 0.f ? v : act.alpha * v;
    case Activation::clip: return std::min(std::max(v, act.alpha), act.beta);
    case Activation::sigmoid: return 1.f / (1.f + std::exp(-v));
    case Activation::hard_sigmoid:
      return std::max(0.f, std::min(1.f, act.alpha * v + act.beta));
    case Activation::hard_swish:
      return v * std::max(0.f, std::min(1.f, v / 6.f + 0.5f));
    case Activation::silu:
      return v / (1.f + std::exp(-v));
  }
  return v;
}

}  // namespace

const SgemmKernel* sgemm_kernel_for(Isa tier) {
  switch (tier) {
    case Isa::scalar: return &sgemm_kernel_scalar();
    case Isa::avx2: return &sgemm_kernel_avx2();
    case Isa::avx512: return &sgemm_kernel_avx512();
    default: return nullptr;  // no FP32 tile of its own: the tier below serves it
  }
}

const SgemmKernel& sgemm_kernel(Isa limit) {
  const Isa top = clamp_isa(clamp_isa(limit, max_isa()), detected_isa());
  if (int(top) >= int(Isa::avx512)) return sgemm_kernel_avx512();
  if (int(top) >= int(Isa::avx2)) return sgemm_kernel_avx2();
  return sgemm_kernel_scalar();
}

size_t sgemm_packed_b_floats(const SgemmKernel& uk, int64_t k, int64_t n) {
  return size_t(ceil_div(n, uk.nr)) * size_t(k) * size_t(uk.nr);
}

void sgemm_pack_b(const SgemmKernel& uk, int64_t k, int64_t n, const float* b, int64_t rs, int64_t cs, float* out) {
  const int nr = uk.nr;
  for (int64_t s = 0; s < ceil_div(n, nr); ++s) {
    const int64_t j0 = s * nr, cols = std::min<int64_t>(nr, n - j0);
    float* o = out + s * k * nr;
    for (int64_t p = 0; p < k; ++p) {
      const float* src = b + p * rs + j0 * cs;
      int64_t j = 0;
      if (cs == 1)
        for (; j < cols; ++j) o[p * nr + j] = src[j];
      else
        for (; j < cols; ++j) o[p * nr + j] = src[j * cs];
      for (; j < nr; ++j) o[p * nr + j] = 0.f;
    }
  }
}

size_t sgemm_workspace_bytes(const SgemmKernel& uk, int64_t m, int64_t n, int64_t k, int threads, bool b_prepacked) {
  size_t bytes = size_t(std::max(threads, 1)) * round64(packed_a_floats(uk) * 4);
  if (!b_prepacked) bytes += round64(sgemm_packed_b_floats(uk, k, n) * 4);
  return bytes;
}

void sgemm_epilogue(const SgemmArgs& g, int64_t i0, int64_t j0, int64_t rows, int64_t cols, float* c, int64_t ldc) {
  const bool has_add = g.add[0].data || g.add[1].data;
  if (!has_add && g.act.kind == Activation::none) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    for (const Addend& ad : g.add) {
      if (!ad.data) continue;
      const float* src = ad.data + (i0 + r) * ad.rs + j0 * ad.cs;
      const float s = ad.scale;
      if (ad.cs == 1)
        for (int64_t j = 0; j < cols; ++j) cr[j] += s * src[j];
      else if (ad.cs == 0)
        for (int64_t j = 0; j < cols; ++j) cr[j] += s * src[0];
      else
        for (int64_t j = 0; j < cols; ++j) cr[j] += s * src[j * ad.cs];
    }
    switch (g.act.kind) {
      case Activation::none: break;
      case Activation::relu:
        for (int64_t j = 0; j < cols; ++j) cr[j] = cr[j] > 0.f ? cr[j] : 0.f;
        break;
      // The newer activations run the vectorised unary kernels over the row (this file is built for baseline
      // x86-64, where a scalar exp per element would cost more than the separate op the fusion saves).
      case Activation::hard_sigmoid:
        unary_row(eltwise::UnaryOp::hard_sigmoid, {g.act.alpha, g.act.beta, 0}, cr, cols);
        break;
      case Activation::hard_swish:
        unary_row(eltwise::UnaryOp::hard_swish, {}, cr, cols);
        break;
      case Activation::silu:
        unary_row(eltwise::UnaryOp::silu, {}, cr, cols);
        break;
      default:
        for (int64_t j = 0; j < cols; ++j) cr[j] = activate(g.act, cr[j]);
    }
  }
}

void sgemm(const SgemmKernel& uk, const SgemmArgs& g, void* workspace, Parallel* par) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {  // an empty sum: C = epilogue(accumulate ? C : 0)
    if (!g.accumulate)
      for (int64_t i = 0; i < g.m; ++i) std::fill_n(g.c + i * g.ldc, g.n, 0.f);
    sgemm_epilogue(g, 0, 0, g.m, g.n, g.c, g.ldc);
    return;
  }
  const int threads = par ? std::max(par->threads(), 1) : 1;
  const size_t a_bytes = round64(packed_a_floats(uk) * 4);
  char* ws = static_cast<char*>(workspace);
  const int64_t strips = ceil_div(g.n, uk.nr);

  const float* packed_b = g.packed_b;
  if (!packed_b) {
    // Pack all of B once, strips split over the threads; every part below may read every strip.
    float* pb = reinterpret_cast<float*>(ws + size_t(threads) * a_bytes);
    parallel_for(par, strips, [&](int64_t s0, int64_t s1) {
      const int64_t j0 = s0 * uk.nr, cols = std::min(g.n, s1 * uk.nr) - j0;
      sgemm_pack_b(uk, g.k, cols, g.b + j0 * g.b_cs, g.b_rs, g.b_cs, pb + s0 * g.k * uk.nr);
    });
    packed_b = pb;
  }

  const std::vector<Part> parts = split_parts(g.m, strips, uk.mr, threads);
  auto run = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      compute_part(uk, g, packed_b, parts[size_t(i)], reinterpret_cast<float*>(ws + size_t(i) * a_bytes));
  };
  parallel_for(par, int64_t(parts.size()), run);
}

size_t sgemm_indirect_table_size(const SgemmKernel& uk, int64_t m, int64_t taps) {
  return size_t(ceil_div(m, uk.mr) * taps * uk.mr);
}

void sgemm_indirect(const SgemmKernel& uk, const SgemmIndirectArgs& g, Parallel* par) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.taps <= 0 || g.channels <= 0) {  // an empty sum, as in sgemm()
    SgemmArgs eg;
    eg.m = g.m, eg.n = g.n, eg.c = g.c, eg.ldc = g.ldc, eg.accumulate = g.accumulate;
    eg.add[0] = g.add[0], eg.add[1] = g.add[1], eg.act = g.act;
    if (!g.accumulate)
      for (int64_t i = 0; i < g.m; ++i) std::fill_n(g.c + i * g.ldc, g.n, 0.f);
    sgemm_epilogue(eg, 0, 0, g.m, g.n, g.c, g.ldc);
    return;
  }
  const int threads = par ? std::max(par->threads(), 1) : 1;
  const std::vector<Part> parts = split_parts(g.m, ceil_div(g.n, uk.nr), uk.mr, threads);
  parallel_for(par, int64_t(parts.size()), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) compute_part_indirect(uk, g, parts[size_t(i)]);
  });
}

}  // namespace octet::kernels::gemm
