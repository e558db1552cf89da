#include "kernels/qconv/qconv_onednn.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "kernels/conv/conv_fp32_onednn.h"

namespace octet::kernels::qconv {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

size_t round64(size_t b) { return (b + 63) / 64 * 64; }

// Padding past the last row/column that oneDNN must be told. ONNX gives OH = floor((H + pt + pb - ek) / s) + 1
// (ek = (KH - 1) * dh + 1); the least pb reaching row OH - 1 is (OH - 1) * s + ek - H - pt, which is negative
// when the stride skips the last rows (1x1 stride 2 on an even map: -1). oneDNN checks the same floor formula,
// and every pb in [pb_min, pb_min + s - 1] gives the same OH, so max(0, pb_min) is always consistent.
int64_t pad_end(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pad_begin) {
  return (out - 1) * s + (k - 1) * d + 1 - in - pad_begin;
}

// How the source zero point, the residual's zero point and the destination zero point are expressed. The first
// variant is what oneDNN's fast kernels take; later ones trade a little float rounding for acceptance.
struct Variant {
  bool src_zp_runtime;  // source zero point as a run-time argument (else a creation-time constant)
  bool dst_zp_attr;     // z_y as oneDNN's destination zero point (else an eltwise linear post-op: t + z_y)
};

}  // namespace

struct QConvOnednn::Impl {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory::desc src_md, dst_md;
  memory weights, bias, src_zp, dst_zp;
  bool fold_za = false, runtime_src_zp = false, has_residual = false;
  int threads = 1;
  size_t scratch_bytes = 0;
};

QConvOnednn::QConvOnednn(const Geom& g, const int8_t* w, const int32_t* bias, const float* scale, int32_t za,
                         const qgemm::Epilogue& ep, bool residual, int threads)
    : g_(g) {
  impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  dnnl::engine& eng = conv::onednn_engine();
  const int64_t icg = g.icg(), ocg = g.ocg(), taps = g.kh * g.kw;
  const int64_t pad_b = std::max<int64_t>(0, pad_end(g.h, g.oh, g.kh, g.sh, g.dh, g.pad_t));
  const int64_t pad_r = std::max<int64_t>(0, pad_end(g.w, g.ow, g.kw, g.sw, g.dw, g.pad_l));
  m.has_residual = residual;

  m.src_md = memory::desc({g.n, g.ic, g.h, g.w}, dt::u8, tag::nhwc);
  m.dst_md = memory::desc({g.n, g.oc, g.oh, g.ow}, dt::u8, tag::nhwc);
  const memory::dims wdims = g.groups == 1 ? memory::dims{g.oc, icg, g.kh, g.kw}
                                           : memory::dims{g.groups, ocg, icg, g.kh, g.kw};
  const memory::desc user_wei_md(wdims, dt::s8, g.groups == 1 ? tag::oihw : tag::goihw);
  const memory::desc any_wei_md(wdims, dt::s8, tag::any);
  const memory::desc bias_md({g.oc}, dt::s32, tag::x);

  // z_x: octet computes sum over taps of (q - z_x) * w with padding taps reading q = z_x, i.e. contributing 0.
  //   sum_taps (q - z_x) * w = sum_taps q * w - z_x * colsum(w)[j]        (colsum over all KH*KW*ICg taps)
  // holds only when every tap of every output pixel lies inside the image: then oneDNN needs no zero point and
  // runs its fastest kernels with B'[j] = B[j] - z_x * colsum(w)[j]. Where some tap reads padding, oneDNN's
  // zero padding (q = 0) would leave -z_x * w too much in the fold at those border pixels only, so there
  // z_x becomes oneDNN's source zero point, which treats padding exactly as octet does (contributes 0 after
  // the subtraction: oneDNN adds a padding compensation).
  // (z_x = 0, the usual case after a ReLU, needs neither.)
  m.fold_za = za == 0 || (g.pad_t == 0 && g.pad_l == 0 && pad_end(g.h, g.oh, g.kh, g.sh, g.dh, 0) <= 0 &&
                          pad_end(g.w, g.ow, g.kw, g.sw, g.dw, 0) <= 0);
  std::vector<int32_t> b(size_t(g.oc), 0);
  for (int64_t j = 0; j < g.oc; ++j) {
    int32_t colsum = 0;
    for (int64_t i = 0; i < icg * taps; ++i) colsum += w[j * icg * taps + i];
    b[size_t(j)] = (bias ? bias[j] : 0) - (m.fold_za ? za * colsum : 0);
  }

  const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pad_l{g.pad_t, g.pad_l}, pad_rr{pad_b, pad_r};
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             m.src_md, any_wei_md, bias_md, m.dst_md, strides, dil, pad_l, pad_rr);

  // Requantization, in oneDNN 2.x's order for an int8 convolution with attributes:
  //   t = oscale[j] * float(acc + B'[j])                 acc = sum q * w (minus the z_x terms, see above)
  //   t = t + sum_scale * (float(dst_before) - sum_zp)  `sum` post-op, dst_before = the residual r
  //   t = eltwise(t)                                     relu / clip
  //   y = saturate_u8(round_half_even(t + z_y))          destination zero point
  // With oscale[j] = s_x*s_w[j]/s_y, sum_scale = s_r/s_y, sum_zp = z_r that is octet's epilogue (qgemm.h):
  //   octet clamps t to [lo - z_y, hi - z_y] and then adds z_y to the rounded value. lo, hi are integers, so
  //   clip-then-round equals round-then-clip, and round(t + z_y) = round(t) + z_y for integer z_y (up to the
  //   float addition t + z_y, exact unless t has bits below 2^-15: the source of the 1 LSB). A ReLU (lo = z_y)
  //   is clip at 0 from below; hi = 255 needs no upper clip since u8 saturation at 255 - z_y + z_y is the same.
  const bool clip_hi = ep.hi < 255, clip_lo = ep.lo > 0;
  auto make_attr = [&](const Variant& v) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_output_scales(1 << 1, std::vector<float>(scale, scale + g.oc));
    if (!m.fold_za)
      attr.set_zero_points(DNNL_ARG_SRC, 0, {v.src_zp_runtime ? DNNL_RUNTIME_S32_VAL : za});
    if (v.dst_zp_attr && ep.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {ep.zero_point});
    dnnl::post_ops po;
    if (residual) po.append_sum(ep.residual_scale, ep.residual_zero_point);
    const float lo = float(ep.lo - ep.zero_point), hi = float(ep.hi - ep.zero_point);
    if (clip_hi)
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, lo, hi);
    else if (clip_lo && ep.lo == ep.zero_point)
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    else if (clip_lo)
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, lo, hi);
    // Without the attribute, z_y is a post-op t + z_y; u8 saturation then clamps to [0, 255] as before.
    if (!v.dst_zp_attr && ep.zero_point != 0)
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f, float(ep.zero_point));
    attr.set_post_ops(po);
    return attr;
  };

  // Implementations size their scratchpad (and choose blocking) for omp_get_max_threads() at creation.
  m.threads = std::max(1, threads);
  omp_set_num_threads(m.threads);
  const Variant variants[] = {{false, true}, {true, true}, {true, false}};
  bool made = false;
  for (size_t i = 0; i < std::size(variants) && !made; ++i) {
    try {
      m.pd = dnnl::convolution_forward::primitive_desc(desc, make_attr(variants[i]), eng);
      m.runtime_src_zp = !m.fold_za && variants[i].src_zp_runtime;
      made = true;
    } catch (const dnnl::error&) {
      if (i + 1 == std::size(variants)) throw;
    }
  }
  m.prim = dnnl::convolution_forward(m.pd);
  m.scratch_bytes = m.pd.scratchpad_desc().get_size();

  dnnl::stream& s = conv::onednn_thread_stream();
  memory user(user_wei_md, eng, const_cast<int8_t*>(w));
  m.weights = memory(m.pd.weights_desc(), eng);
  dnnl::reorder(user, m.weights).execute(s, user, m.weights);
  s.wait();
  m.bias = memory(bias_md, eng);
  std::memcpy(m.bias.get_data_handle(), b.data(), b.size() * sizeof(int32_t));
  if (m.runtime_src_zp) {
    m.src_zp = memory(memory::desc({1}, dt::s32, tag::x), eng);
    *static_cast<int32_t*>(m.src_zp.get_data_handle()) = za;
  }
}

QConvOnednn::~QConvOnednn() = default;

std::unique_ptr<QConvOnednn> QConvOnednn::try_create(const Geom& g, const int8_t* w, const int32_t* bias,
                                                     const float* scale, int32_t za, const qgemm::Epilogue& ep,
                                                     bool residual, int threads) {
  try {
    return std::make_unique<QConvOnednn>(g, w, bias, scale, za, ep, residual, threads);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

size_t QConvOnednn::workspace_bytes() const { return round64(impl_->scratch_bytes); }

std::string QConvOnednn::impl() const { return impl_->pd.impl_info_str(); }

bool QConvOnednn::zero_point_folded() const { return impl_->fold_za; }

void QConvOnednn::run(const uint8_t* x, const uint8_t* residual, uint8_t* y, void* workspace, int threads) const {
  const Impl& m = *impl_;
  omp_set_num_threads(std::clamp(threads, 1, m.threads));
  dnnl::engine& eng = conv::onednn_engine();
  dnnl::stream& s = conv::onednn_thread_stream();
  // The sum post-op reads the residual from dst: put it there first unless it already is.
  if (m.has_residual && residual != y) std::memcpy(y, residual, size_t(g_.rows() * g_.oc));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(m.src_md, eng, const_cast<uint8_t*>(x))},
                                       {DNNL_ARG_WEIGHTS, m.weights},
                                       {DNNL_ARG_BIAS, m.bias},
                                       {DNNL_ARG_DST, memory(m.dst_md, eng, y)},
                                       {DNNL_ARG_SCRATCHPAD, memory(m.pd.scratchpad_desc(), eng, workspace)}};
  if (m.runtime_src_zp) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, m.src_zp);
  m.prim.execute(s, args);
  s.wait();
}

}  // namespace octet::kernels::qconv
