#include "kernels/conv/conv_fp32_im2col.h"

#include <algorithm>
#include <cstring>

namespace octet::kernels::conv {
namespace {

// im2col block budget: the SGEMM driver packs A in MC x KC pieces anyway, so a block only needs to be large
// enough that packed B (K x N, streamed once per block from L2/L3) is amortised over many rows. 2 MB of patches
// holds all 49 rows of layer 4's K = 4608 (one pass over its 9.4 MB of weights) and ~450 rows of layer 2's
// K = 1152.
constexpr size_t kBlockBytes = size_t(2) << 20;

size_t round64(size_t b) { return (b + 63) / 64 * 64; }

}  // namespace

bool ConvFp32Im2col::supports(const ConvParams& p) {
  return p.groups == 1 && p.src_nhwc && p.dst_nhwc && (!p.has_residual || p.residual_nhwc);
}

ConvFp32Im2col::ConvFp32Im2col(const ConvParams& p, const float* weights, const float* bias,
                               const gemm::SgemmKernel& uk, int threads, bool indirect)
    : p_(p), uk_(uk), threads_(std::max(1, threads)) {
  m_ = p.oh * p.ow;
  k_ = p.kh * p.kw * p.ic;
  direct_ = p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 && p.pad_left == 0 &&
            p.pad_bottom == 0 && p.pad_right == 0;
  indirect_ = indirect && !direct_ && uk.rows_indirect[1] != nullptr;
  if (indirect_) zeros_.assign(size_t(p.ic), 0.f);
  block_ = m_;
  if (!direct_ && !indirect_) {
    const int64_t fit = int64_t(kBlockBytes / (size_t(k_) * sizeof(float)));
    if (fit < m_) block_ = std::max<int64_t>(uk.mr, fit / uk.mr * uk.mr);  // whole register tiles per block
  }
  // B[p][o] with p = (ky*KW + kx)*C + c, from W[o][c][ky][kx]: transpose into K x N, then pack.
  std::vector<float> b(size_t(k_ * p.oc));
  for (int64_t o = 0; o < p.oc; ++o)
    for (int64_t c = 0; c < p.ic; ++c)
      for (int64_t ky = 0; ky < p.kh; ++ky)
        for (int64_t kx = 0; kx < p.kw; ++kx)
          b[size_t(((ky * p.kw + kx) * p.ic + c) * p.oc + o)] = weights[((o * p.ic + c) * p.kh + ky) * p.kw + kx];
  packed_b_.resize(gemm::sgemm_packed_b_floats(uk, k_, p.oc));
  gemm::sgemm_pack_b(uk, k_, p.oc, b.data(), p.oc, 1, packed_b_.data());
  if (p.has_bias) bias_.assign(bias, bias + p.oc);
}

size_t ConvFp32Im2col::workspace_bytes() const {
  if (indirect_) return round64(gemm::sgemm_indirect_table_size(uk_, m_, p_.kh * p_.kw) * sizeof(float*));
  const size_t patches = direct_ ? 0 : round64(size_t(block_ * k_) * sizeof(float));
  return patches + gemm::sgemm_workspace_bytes(uk_, block_, p_.oc, k_, threads_, true);
}

std::string ConvFp32Im2col::impl() const { return (indirect_ ? "indirect:" : "") + std::string(isa_name(uk_.isa)); }

// Table entry (tile, tap t = ky*KW + kx, r) = the C channels of input pixel (iy, ix) under output pixel
// tile*mr + r, or zeros_ when (iy, ix) is in the padding; rows past M (a tail tile's) point at zeros_ too.
void ConvFp32Im2col::build_table(const float* img, int64_t tile0, int64_t tile1, const float** table) const {
  const ConvParams& p = p_;
  const int mr = uk_.mr;
  const int64_t taps = p.kh * p.kw;
  for (int64_t tile = tile0; tile < tile1; ++tile) {
    const float** t = table + tile * taps * mr;
    for (int r = 0; r < mr; ++r) {
      const int64_t pix = tile * mr + r;
      if (pix >= m_) {
        for (int64_t tap = 0; tap < taps; ++tap) t[tap * mr + r] = zeros_.data();
        continue;
      }
      const int64_t oy = pix / p.ow, ox = pix % p.ow;
      for (int64_t ky = 0; ky < p.kh; ++ky) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
        for (int64_t kx = 0; kx < p.kw; ++kx) {
          const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
          const bool inside = iy >= 0 && iy < p.ih && ix >= 0 && ix < p.iw;
          t[(ky * p.kw + kx) * mr + r] = inside ? img + (iy * p.iw + ix) * p.ic : zeros_.data();
        }
      }
    }
  }
}

// Rows [pix0, pix0 + rows) of one image's A into out (row stride K). For each output pixel, each (ky, kx) tap
// is C contiguous floats of src, or zeros where the tap falls in the padding.
void ConvFp32Im2col::im2col(const float* src, int64_t pix0, int64_t rows, float* out) const {
  const ConvParams& p = p_;
  const size_t cbytes = size_t(p.ic) * sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t pix = pix0 + r, oy = pix / p.ow, ox = pix % p.ow;
    float* o = out + r * k_;
    for (int64_t ky = 0; ky < p.kh; ++ky) {
      const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.ih) {
        std::memset(o, 0, cbytes * size_t(p.kw));
        o += p.kw * p.ic;
        continue;
      }
      const int64_t ix0 = ox * p.stride_w - p.pad_left;
      const float* row = src + iy * p.iw * p.ic;
      if (p.dilation_w == 1 && ix0 >= 0 && ix0 + p.kw <= p.iw) {  // the whole run of KW*C floats is inside
        std::memcpy(o, row + ix0 * p.ic, cbytes * size_t(p.kw));
        o += p.kw * p.ic;
        continue;
      }
      for (int64_t kx = 0; kx < p.kw; ++kx, o += p.ic) {
        const int64_t ix = ix0 + kx * p.dilation_w;
        if (ix < 0 || ix >= p.iw)
          std::memset(o, 0, cbytes);
        else
          std::memcpy(o, row + ix * p.ic, cbytes);
      }
    }
  }
}

void ConvFp32Im2col::run(const float* src, float* dst, const float* residual, void* workspace, Parallel* par) const {
  const ConvParams& p = p_;
  char* ws = static_cast<char*>(workspace);
  float* patches = reinterpret_cast<float*>(ws);
  void* gemm_ws = direct_ ? ws : ws + round64(size_t(block_ * k_) * sizeof(float));
  for (int64_t n = 0; n < p.n; ++n) {
    const float* img = src + n * p.ih * p.iw * p.ic;
    if (indirect_) {
      const float** table = reinterpret_cast<const float**>(ws);
      parallel_for(par, (m_ + uk_.mr - 1) / uk_.mr, [&](int64_t t0, int64_t t1) { build_table(img, t0, t1, table); });
      gemm::SgemmIndirectArgs g;
      g.m = m_, g.n = p.oc, g.taps = p.kh * p.kw, g.channels = p.ic;
      g.a = table;
      g.packed_b = packed_b_.data();
      const int64_t off = n * m_ * p.oc;
      g.c = dst + off, g.ldc = p.oc;
      // The same epilogue as the copy path below.
      if (p.has_bias) g.add[0] = {bias_.data(), 0, 1, 1.f};
      if (p.has_residual) {
        if (residual == dst)
          g.accumulate = true;
        else
          g.add[1] = {residual + off, p.oc, 1, 1.f};
      }
      g.act = p.act;
      gemm::sgemm_indirect(uk_, g, par);
      continue;
    }
    for (int64_t pix0 = 0; pix0 < m_; pix0 += block_) {
      const int64_t rows = std::min(block_, m_ - pix0);
      gemm::SgemmArgs g;
      g.m = rows, g.n = p.oc, g.k = k_;
      if (direct_) {
        g.a = img + pix0 * p.ic, g.a_rs = p.ic;
      } else {
        parallel_for(par, rows, [&](int64_t r0, int64_t r1) { im2col(img, pix0 + r0, r1 - r0, patches + r0 * k_); });
        g.a = patches, g.a_rs = k_;
      }
      g.a_cs = 1;
      g.packed_b = packed_b_.data();
      const int64_t off = (n * m_ + pix0) * p.oc;
      g.c = dst + off, g.ldc = p.oc;
      // Epilogue: C = act(A*B + bias + residual). A residual already in dst (the planner's in-place choice) is
      // accumulated onto instead of added afterwards, since the tile store would overwrite it first.
      if (p.has_bias) g.add[0] = {bias_.data(), 0, 1, 1.f};
      if (p.has_residual) {
        if (residual == dst)
          g.accumulate = true;
        else
          g.add[1] = {residual + off, p.oc, 1, 1.f};
      }
      g.act = p.act;
      gemm::sgemm(uk_, g, gemm_ws, par);
    }
  }
}

}  // namespace octet::kernels::conv
