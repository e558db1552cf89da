#include "kernels/qconv/qconv_octet.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace octet::kernels::qconv {
namespace {

size_t round64(size_t x) { return (x + 63) / 64 * 64; }

// Work below this many multiply-adds runs on the calling thread: waking the pool costs more than it saves
// (the same grain as the engine's split_work).
constexpr int64_t kParallelGrain = 1 << 15;

void split(Parallel* par, int64_t n, int64_t unit_cost, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (!par || n * unit_cost < kParallelGrain)
    fn(0, n);
  else
    parallel_for(par, n, fn);
}

// True when some output row has a kernel row wholly in the vertical padding (above the image or below it).
bool vertical_padding_taps(const Geom& g) {
  return g.pad_t > 0 || (g.oh - 1) * g.sh - g.pad_t + (g.kh - 1) * g.dh >= g.h;
}

// The taps path (qgemm_taps) needs a tier with the segmented-A tile, one group, no horizontal dilation (a kernel
// row must be one contiguous run of NHWC bytes) and output lines that tile well: tiles never cross a line, so a
// width of 7 under MR = 14 wastes half of each tile's registers (im2col packs such rows densely; its copy is
// cheap next to their deep K). Unless z_a = 0 and kernel rows over the vertical padding can be skipped: then
// half-height tiles still win - ResNet-50's 3x3 convs on a 7x7 output (ow = 7) skip 1/21 of the work per border
// row, and ran 4-7% faster than im2col next to oneDNN in one process.
bool use_taps(const Geom& g, const qgemm::QGemmKernel& qk, int32_t za) {
  if (!qk.taps_ukernel || g.groups != 1 || g.dw != 1 || g.is_pointwise()) return false;
  const int64_t mr = qk.mr, tiles = (g.ow + mr - 1) / mr;
  if (g.ow * 100 >= tiles * mr * 85) return true;
  return za == 0 && vertical_padding_taps(g) && 2 * g.ow >= mr;
}

}  // namespace

QConvOctet::QConvOctet(const Geom& g, const int8_t* w, const int32_t* bias, int32_t za, Isa limit)
    : g_(g), za_(za) {
  const int64_t icg = g.icg(), ocg = g.ocg(), taps = g.kh * g.kw;
  std::vector<int32_t> b(size_t(g.oc), 0);
  if (bias) b.assign(bias, bias + g.oc);
  if (g.is_depthwise() && icg == 1) {
    path_ = Path::depthwise;
    // AVX-512 (32 channels a block) or AVX2 (16) when the tier allows it (the CPU's best at most `limit`): their
    // weights are re-laid at creation (pack_dw_simd); the baseline loop keeps [taps][C].
    const Isa tier = clamp_isa(limit, max_isa());
    if (int(tier) >= int(Isa::avx2) && taps <= kDwSimdMaxTaps) {
      dw_simd_ = int(tier) >= int(Isa::avx512) ? Isa::avx512 : Isa::avx2;
      dw_packed_ = pack_dw_simd(g, w, bias, za, dw_simd_ == Isa::avx512 ? 32 : 16);
      return;
    }
    dw_w_.resize(size_t(taps * g.oc));
    for (int64_t c = 0; c < g.oc; ++c)
      for (int64_t t = 0; t < taps; ++t) dw_w_[size_t(t * g.oc + c)] = w[c * taps + t];
    dw_bias_ = std::move(b);
    return;
  }
  // The largest |w| decides whether a restricted kernel (AVX2 7-bit) is exact for this conv (qgemm.h).
  qk_ = &qgemm::qgemm_kernel(limit, qgemm::max_abs_s8(w, size_t(g.oc * icg * taps)));
  path_ = g.is_pointwise() ? Path::pointwise : use_taps(g, *qk_, za) ? Path::taps : Path::im2col;
  // Weights to the im2col column order: W'[j][(ky*KW + kx)*ICg + c] = W[j][c][ky][kx], then packed per group
  // with z_x folded into the bias (qgemm.h). The im2col path rounds the depth up to whole 4-byte groups (zero
  // weights, z_x activations: they add nothing) so the micro-kernels never take their k % 4 tail (conv1 of
  // ResNet-50: K = 7*7*3 = 147). The taps path rounds up each kernel row instead (kc_ = KW*IC to a multiple
  // of 4: conv1's rows are 21 bytes, read as 24, the 3 extra bytes - the next pixel's - meet zero weights).
  const int64_t row = g.kw * icg;  // one kernel row of W'
  const int64_t row_padded = path_ == Path::taps ? (row + 3) / 4 * 4 : row;
  const int64_t kk = path_ == Path::im2col ? (g.k() + 3) / 4 * 4 : g.kh * row_padded;
  k_padded_ = kk;
  // One tap and no padding (1x1 convs): ONNX order already is that order, pack straight from w. Otherwise the
  // reorder writes each row of W' front to back (taps outer, channels inner: sequential stores, reads strided by
  // the few taps), and only the depth padding is zeroed. Start-up time: ResNet-50's weights pass through here.
  std::unique_ptr<int8_t[]> wr;
  const int8_t* wsrc = w;
  if (taps != 1 || kk != icg) {
    wr.reset(new int8_t[size_t(g.oc * kk)]);
    for (int64_t j = 0; j < g.oc; ++j) {
      int8_t* dst = wr.get() + j * kk;
      const int8_t* src = w + j * icg * taps;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        for (int64_t kx = 0; kx < g.kw; ++kx, dst += icg) {
          const int64_t t = ky * g.kw + kx;
          for (int64_t c = 0; c < icg; ++c) dst[c] = src[c * taps + t];
        }
        std::fill(dst, dst + (row_padded - row), int8_t(0));
        dst += row_padded - row;
      }
      std::fill(dst, wr.get() + (j + 1) * kk, int8_t(0));
    }
    wsrc = wr.get();
  }
  group_bytes_ = round64(qk_->packed_bytes(size_t(ocg), size_t(kk)));
  // Not initialised: pack() writes every byte of each group's panels (the gaps to the next 64-byte boundary are
  // never read).
  packed_ = PackedBuffer(group_bytes_ * size_t(g.groups));
  for (int64_t grp = 0; grp < g.groups; ++grp)
    qk_->pack(size_t(ocg), size_t(kk), wsrc + grp * ocg * kk, size_t(kk), b.data() + grp * ocg, za,
              packed_.data() + size_t(grp) * group_bytes_);
  if (path_ == Path::taps) {
    // The input as the tiles read it: hp_ x wp_ pixels from (-pad_t, -pad_l), every output pixel's window
    // inside. X itself when that is X (no padding, rows not rounded up, nothing read past it); else a copy with
    // z_a around it.
    kc_ = row_padded;
    hp_ = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    wp_ = (g.ow - 1) * g.sw + g.kw;
    pad_copy_ = g.pad_t != 0 || g.pad_l != 0 || row_padded != row || hp_ > g.h || wp_ > g.w;
    if (!pad_copy_) hp_ = g.h, wp_ = g.w;
    for (int64_t ky = 0; ky < g.kh; ++ky) tap_off_.push_back(ptrdiff_t(ky * g.dh * wp_ * g.ic));
    // Kernel rows over the vertical padding multiply z_a; with z_a = 0 they add nothing and are skipped.
    if (za == 0 && vertical_padding_taps(g))
      for (int64_t y = 0; y < g.oh; ++y) {
        const int64_t iy0 = y * g.sh - g.pad_t;  // image row under kernel row 0
        int64_t t0 = 0, t1 = g.kh;
        while (t0 < g.kh && iy0 + t0 * g.dh < 0) ++t0;
        while (t1 > t0 && iy0 + (t1 - 1) * g.dh >= g.h) --t1;
        tap_range_.push_back(uint32_t(t0));
        tap_range_.push_back(uint32_t(t1));
      }
    // Likewise a line's first pixel over the left padding (its first kernel column) and last pixel over the
    // right one, when a kernel column is whole k-groups (C % 4 == 0): 2/3 of a 3x3 conv's edge pixels' work.
    if (za == 0 && g.ic % 4 == 0 && row_padded == row) {
      if (g.pad_l > 0) edge_lead_ = size_t(g.ic / 4);
      if ((g.ow - 1) * g.sw - g.pad_l + (g.kw - 1) * g.dw >= g.w) edge_trail_ = size_t(g.ic / 4);
    }
  }
  if (path_ == Path::im2col) {
    // About 1 MB of im2col rows per block (L2-sized), whole tiles, at least one tile.
    const int64_t mr = qk_->mr;
    block_rows_ = std::max<int64_t>(mr, (int64_t(1) << 20) / std::max<int64_t>(1, kk) / mr * mr);
    block_rows_ = std::min(block_rows_, g.rows());
  }
}

size_t QConvOctet::workspace_bytes() const {
  if (path_ == Path::im2col) return round64(size_t(block_rows_ * k_padded_));
  // The padded copy, and 64 bytes after it for the rounded-up last kernel row (kc_ - KW*IC < 4 bytes).
  if (path_ == Path::taps && pad_copy_) return round64(size_t(g_.n * hp_ * wp_ * g_.ic)) + 64;
  return 0;
}

std::string QConvOctet::name() const {
  if (path_ == Path::depthwise)
    return std::string("qconv_dw/") + (dw_simd_ == Isa::scalar ? "baseline" : isa_name(dw_simd_));
  std::string s =
      std::string("qconv/") + isa_name(qk_->isa) + ":" + std::to_string(qk_->mr) + "x" + std::to_string(qk_->nr);
  if (qk_->max_abs_weight < 128) s += "w7";  // the 7-bit-weight kernel (exact because |w| <= 64)
  return path_ == Path::im2col ? s + "+im2col" : path_ == Path::taps ? s + "+taps" : s;
}

void QConvOctet::pad_row(const uint8_t* x, int64_t img, int64_t py, uint8_t* dst) const {
  const Geom& g = g_;
  const int64_t c = g.ic, iy = py - g.pad_t;
  if (iy < 0 || iy >= g.h) {
    std::memset(dst, za_, size_t(wp_ * c));
    return;
  }
  // Columns [lo, hi) of the padded row are image columns [lo - pad_l, hi - pad_l).
  const int64_t lo = std::min(g.pad_l, wp_), hi = std::clamp(g.pad_l + g.w, lo, wp_);
  std::memset(dst, za_, size_t(lo * c));
  if (hi > lo) std::memcpy(dst + lo * c, x + ((img * g.h + iy) * g.w + lo - g.pad_l) * c, size_t((hi - lo) * c));
  std::memset(dst + hi * c, za_, size_t((wp_ - hi) * c));
}

void QConvOctet::run(const uint8_t* x, uint8_t* y, const qgemm::Epilogue& ep, void* workspace,
                     Parallel* par) const {
  const Geom& g = g_;
  const uint8_t* pk = packed_.data();
  switch (path_) {
    case Path::pointwise:
      qgemm::qgemm(*qk_, size_t(g.rows()), size_t(g.oc), size_t(g.ic), x, size_t(g.ic), pk, ep, y, size_t(g.oc),
                   par);
      break;
    case Path::depthwise:
      split(par, g.rows(), g.oc * g.kh * g.kw, [&](int64_t r0, int64_t r1) {
        if (dw_simd_ == Isa::avx512)
          depthwise_nhwc_avx512(g, x, dw_packed_, ep, r0, r1, y);
        else if (dw_simd_ == Isa::avx2)
          depthwise_nhwc_avx2(g, x, dw_packed_, ep, r0, r1, y);
        else
          depthwise_nhwc(g, x, za_, dw_w_.data(), dw_bias_.data(), ep, r0, r1, y);
      });
      break;
    case Path::taps: {
      const uint8_t* xp = x;
      const size_t line = size_t(wp_ * g.ic);  // bytes of one padded input row
      if (pad_copy_) {
        auto* buf = static_cast<uint8_t*>(workspace);
        split(par, g.n * hp_, line, [&](int64_t a, int64_t b) {
          for (int64_t r = a; r < b; ++r) pad_row(x, r / hp_, r % hp_, buf + r * int64_t(line));
        });
        std::memset(buf + g.n * hp_ * int64_t(line), za_, 64);
        xp = buf;
      }
      qgemm::TapsA ta;
      ta.a = xp;
      ta.lda = size_t(g.sw * g.ic);
      ta.lines = size_t(g.n * g.oh), ta.line_len = size_t(g.ow), ta.lines_per_image = size_t(g.oh);
      ta.line_step = size_t(g.sh) * line, ta.image_step = size_t(hp_) * line;
      ta.tap_off = tap_off_.data(), ta.taps = tap_off_.size(), ta.kc = size_t(kc_);
      ta.tap_range = tap_range_.empty() ? nullptr : tap_range_.data();
      ta.lead = edge_lead_, ta.trail = edge_trail_;
      qgemm::qgemm_taps(*qk_, ta, size_t(g.oc), pk, ep, y, size_t(g.oc), par);
      break;
    }
    case Path::im2col: {
      auto* block = static_cast<uint8_t*>(workspace);
      const int64_t k = k_padded_, ocg = g.ocg();
      for (int64_t r0 = 0; r0 < g.rows(); r0 += block_rows_) {
        const int64_t rows = std::min(block_rows_, g.rows() - r0);
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          split(par, rows, k, [&](int64_t a, int64_t b) {
            im2col_nhwc(g, x, uint8_t(za_), grp, r0 + a, r0 + b, block + a * k, k);
          });
          qgemm::Epilogue eg = ep;
          eg.scale = ep.scale + grp * ocg;
          if (ep.residual) eg.residual = ep.residual + r0 * int64_t(ep.ld_residual) + grp * ocg;
          qgemm::qgemm(*qk_, size_t(rows), size_t(ocg), size_t(k), block, size_t(k), pk + grp * group_bytes_, eg,
                        y + r0 * g.oc + grp * ocg, size_t(g.oc), par);
        }
      }
      break;
    }
  }
}

}  // namespace octet::kernels::qconv
