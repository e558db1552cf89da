// FP32 GEMM with a fused epilogue:
//
//   C[i][j] = act( alpha * sum_p A[i][p] * B[p][j]  +  sum_t add[t].scale * add[t](i, j) )
//
// A and B are read through (row stride, column stride) pairs, so transposed operands need no copy; B may
// instead come packed once (at load, for constant weights) by sgemm_pack_b. The addends are broadcastable
// matrices given by strides, which covers Gemm's C (scalar, [N], [M,1], [M,N]) and a fused residual.
//
// Structure (BLIS-style, STYLE.md §4): one generic driver (sgemm.cpp) does the blocking over N (NC), K (KC)
// and M (MC), packs A (alpha folded in) and, when not prepacked, B, handles the tails and applies the epilogue
// to each finished tile while it is in L1. An ISA file holds only the mr x nr register tile:
//   sgemm_4x16_scalar.cpp (sgemm_ref.cpp), sgemm_6x16_avx2.cpp, sgemm_12x32_avx512.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/parallel.h"

namespace octet::kernels::gemm {

/// One register tile: C[r][0..nr) (row stride ldc) = (accumulate ? C : 0) + sum_p a[p*mr + r] * b[p*nr + ..]
/// for r < rows. a is a packed A strip ([kc][mr], mr the kernel's rows), b a packed B strip ([kc][nr]).
/// All nr columns are stored: the driver routes column tails through a scratch tile.
using SgemmUkernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
/// The epilogue a tile applies in registers before its store: C = act(C + bias[j]) for act none, relu or clip
/// (NaN handled as the scalar epilogue does: relu maps it to 0, clip keeps it). bias: nr floats (the driver
/// pads a column tail) or null.
struct TileEpilogue {
  const float* bias = nullptr;
  bool relu = false, clip = false;
  float lo = 0, hi = 0;  // clip bounds
};
/// The same tile reading A in place from a row-major matrix: element (r, p) at a[r*a_rs + p] (no pack of A),
/// and applying `ep` (when not null) to the finished sum.
using SgemmUkernelStrided = void (*)(int64_t kc, const float* a, int64_t a_rs, const float* b, float* c,
                                     int64_t ldc, bool accumulate, const TileEpilogue* ep);

/// The same tile reading A through row pointers (indirect GEMM: a convolution without an im2col copy). The
/// depth is `taps` groups of kc: for tap t, row r's kc values are the contiguous floats at a[t*mr + r] + a_off
/// (mr the kernel's rows; a pixel's C channels of one kernel tap in an NHWC image, or a row of zeros for a tap in
/// the padding). b is the packed B strip slice for those taps*kc depth steps, in tap order. pf, pf_lines: a hint
/// to prefetch pf_lines 64-byte lines from pf (at most one per depth step; a tile may ignore it). The driver
/// points it at the next packed B slice, inside packed_b (a prefetch never faults, but it should not waste a miss).
using SgemmUkernelIndirect = void (*)(int64_t taps, int64_t kc, const float* const* a, int64_t a_off, const float* b,
                                      float* c, int64_t ldc, bool accumulate, const TileEpilogue* ep,
                                      const float* pf, int64_t pf_lines);

inline constexpr int kMaxMr = 16;

/// The micro-kernel of one tier. rows[r] computes r rows (1 <= r <= mr); rows[0] is unused.
struct SgemmKernel {
  Isa isa;
  const char* name;  // e.g. "sgemm_6x16_avx2"
  int mr, nr;
  SgemmUkernel rows[kMaxMr + 1];
  /// Optional (null: the driver packs A): used when A has unit column stride and alpha == 1.
  SgemmUkernelStrided rows_strided[kMaxMr + 1] = {};
  /// Optional (null: no sgemm_indirect on this tier; callers copy A instead, e.g. im2col).
  SgemmUkernelIndirect rows_indirect[kMaxMr + 1] = {};
};

/// The kernel of exactly `tier` (null when this build has none). Does not check the CPU.
const SgemmKernel* sgemm_kernel_for(Isa tier);
/// The best kernel this CPU runs at a tier <= min(limit, max_isa()).
const SgemmKernel& sgemm_kernel(Isa limit = Isa::avx512vnni);

/// The fused activation (applied last).
struct Activation {
  // hard_sigmoid: max(0, min(1, alpha * y + beta)); hard_swish: y * max(0, min(1, y / 6 + 1/2));
  // silu: y * sigmoid(y) (MobileNetV3's and EfficientNet's activations, fused by graph/passes/fuse_activation.cpp).
  enum Kind : uint8_t { none, relu, leaky_relu, clip, sigmoid, hard_sigmoid, hard_swish, silu };
  Kind kind = none;
  float alpha = 0, beta = 0;  // leaky_relu: slope alpha; clip: [alpha, beta]; hard_sigmoid: alpha * y + beta
};

/// A matrix broadcast to M x N: element (i, j) is data[i*rs + j*cs] (stride 0 broadcasts), times `scale`.
struct Addend {
  const float* data = nullptr;
  int64_t rs = 0, cs = 0;
  float scale = 1;
};

struct SgemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;  // A(i, p) = a[i*a_rs + p*a_cs]
  int64_t a_rs = 0, a_cs = 1;
  const float* b = nullptr;  // B(p, j) = b[p*b_rs + j*b_cs]; ignored when packed_b is set
  int64_t b_rs = 0, b_cs = 1;
  const float* packed_b = nullptr;  // sgemm_pack_b of B with the same kernel
  float* c = nullptr;
  int64_t ldc = 0;
  float alpha = 1;
  /// C already holds an addend (e.g. the residual in the output buffer): the product is added to it.
  bool accumulate = false;
  Addend add[2];
  Activation act;
};

/// Floats of B packed for `kernel`: ceil(n / nr) strips of [k][nr], zero-padded past n.
size_t sgemm_packed_b_floats(const SgemmKernel& kernel, int64_t k, int64_t n);
/// Packs B (k x n, B(p, j) = b[p*rs + j*cs]) into out (sgemm_packed_b_floats floats).
void sgemm_pack_b(const SgemmKernel& kernel, int64_t k, int64_t n, const float* b, int64_t rs, int64_t cs,
                  float* out);
/// Scratch bytes sgemm() needs for these sizes with `threads` threads (packed A per thread, packed B when not
/// prepacked).
size_t sgemm_workspace_bytes(const SgemmKernel& kernel, int64_t m, int64_t n, int64_t k, int threads,
                             bool b_prepacked);
/// C = epilogue(A * B) as documented above. `workspace` holds sgemm_workspace_bytes(..., threads, ...) bytes
/// for threads = par ? par->threads() : 1, 64-byte aligned.
void sgemm(const SgemmKernel& kernel, const SgemmArgs& args, void* workspace, Parallel* par = nullptr);

/// An indirect GEMM (XNNPACK's igemm): C = epilogue(A * B) with A's rows given by pointers rather than a matrix, so a
/// convolution reads its input image in place. K = taps * channels, depth index p = t*channels + c, and
///   A(i, p) = a[(i / mr) * taps * mr + t * mr + i % mr][c]
/// i.e. for each tile of mr rows a [taps][mr] table of row pointers, each to `channels` contiguous floats (a
/// tail tile's unused entries are never read). B is packed (sgemm_pack_b of the K x N matrix). The epilogue is
/// SgemmArgs's (add, act, accumulate). No workspace. Needs kernel.rows_indirect.
struct SgemmIndirectArgs {
  int64_t m = 0, n = 0, taps = 0, channels = 0;
  const float* const* a = nullptr;
  const float* packed_b = nullptr;
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
  Addend add[2];
  Activation act;
};
/// Entries (pointers) of the indirection table sgemm_indirect reads for m rows: ceil(m / mr) * taps * mr.
size_t sgemm_indirect_table_size(const SgemmKernel& kernel, int64_t m, int64_t taps);
void sgemm_indirect(const SgemmKernel& kernel, const SgemmIndirectArgs& args, Parallel* par = nullptr);

/// The source of truth: three plain loops in double precision, then the same epilogue.
void sgemm_ref(const SgemmArgs& args);

/// Applies the epilogue to the rows x cols block of C at (i0, j0): shared by the driver and sgemm_ref.
void sgemm_epilogue(const SgemmArgs& args, int64_t i0, int64_t j0, int64_t rows, int64_t cols, float* c,
                    int64_t ldc);

// Per-tier kernels, defined in the ISA files.
const SgemmKernel& sgemm_kernel_scalar();
const SgemmKernel& sgemm_kernel_avx2();
const SgemmKernel& sgemm_kernel_avx512();

}  // namespace octet::kernels::gemm
