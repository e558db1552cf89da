#include "kernels/conv/conv_fp32_onednn.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

namespace octet::kernels::conv {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// OCTET_MAX_ISA clamps oneDNN too, so one machine can test the lower tiers end to end. oneDNN accepts this only
// before its first primitive, hence here, once, ahead of the engine. (The scalar tier maps to SSE4.1, the lowest
// oneDNN jit level; below that oneDNN runs its reference code anyway.)
void clamp_onednn_isa() {
  dnnl::cpu_isa isa = dnnl::cpu_isa::all;
  switch (max_isa()) {
    case Isa::scalar: isa = dnnl::cpu_isa::sse41; break;
    case Isa::avx2: isa = dnnl::cpu_isa::avx2; break;
    case Isa::avxvnni: isa = dnnl::cpu_isa::avx2_vnni; break;
    case Isa::avx512: isa = dnnl::cpu_isa::avx512_core; break;
    case Isa::avx512vnni: isa = dnnl::cpu_isa::avx512_core_vnni; break;
  }
  try {
    if (isa != dnnl::cpu_isa::all && max_isa() != detected_isa()) dnnl::set_max_cpu_isa(isa);
  } catch (const dnnl::error&) {
    // Already fixed by an earlier oneDNN call in this process (e.g. a benchmark): keep what it chose.
  }
}

// One oneDNN engine per process: primitives and memories made on it are shared by every session.
dnnl::engine& cpu_engine() {
  static dnnl::engine e = [] {
    clamp_onednn_isa();
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return e;
}

// A stream is cheap but not free to create; one per calling thread makes concurrent run()s independent.
dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

size_t round64(size_t b) { return (b + 63) / 64 * 64; }

memory::dims weight_dims(const ConvParams& p) {
  if (p.groups == 1) return {p.oc, p.ic, p.kh, p.kw};
  return {p.groups, p.oc / p.groups, p.ic / p.groups, p.kh, p.kw};
}

dnnl::algorithm eltwise_of(gemm::Activation::Kind k) {
  switch (k) {
    case gemm::Activation::relu:
    case gemm::Activation::leaky_relu: return dnnl::algorithm::eltwise_relu;  // relu(x; alpha) = x<0 ? alpha*x : x
    case gemm::Activation::clip: return dnnl::algorithm::eltwise_clip;        // min(max(x, alpha), beta)
    case gemm::Activation::sigmoid: return dnnl::algorithm::eltwise_logistic;
    case gemm::Activation::hard_swish:
      return dnnl::algorithm::eltwise_hardswish;  // x * relu6(x + 3) / 6
    case gemm::Activation::silu:
      return dnnl::algorithm::eltwise_swish;  // x * sigmoid(alpha x), alpha 1
    case gemm::Activation::hard_sigmoid:      // two post-ops, see below
    case gemm::Activation::none: break;
  }
  return dnnl::algorithm::undef;
}

}  // namespace

dnnl::engine& onednn_engine() { return cpu_engine(); }
dnnl::stream& onednn_thread_stream() { return thread_stream(); }

struct ConvFp32Onednn::Impl {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory::desc src_md, dst_md, res_md, user_wei_md, bias_md;
  memory weights;            // reordered once (constant weights)
  memory bias;               // a copy (constant bias)
  bool weights_at_run = false, bias_at_run = false;
  dnnl::reorder wei_reorder;  // user OIHW -> pd's format, for weights given at run time
  dnnl::reorder res_reorder;  // residual layout -> dst layout, when they differ
  bool res_needs_reorder = false;
  size_t scratch_bytes = 0, wei_bytes = 0;
  int threads = 1;
};

ConvFp32Onednn::ConvFp32Onednn(const ConvParams& p, const float* weights, const float* bias, int threads)
    : p_(p) {
  impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  dnnl::engine& eng = cpu_engine();
  const auto f32 = memory::data_type::f32;
  m.src_md = memory::desc({p.n, p.ic, p.ih, p.iw}, f32, p.src_nhwc ? tag::nhwc : tag::nchw);
  m.dst_md = memory::desc({p.n, p.oc, p.oh, p.ow}, f32, p.dst_nhwc ? tag::nhwc : tag::nchw);
  m.res_md = memory::desc({p.n, p.oc, p.oh, p.ow}, f32, p.residual_nhwc ? tag::nhwc : tag::nchw);
  m.user_wei_md = memory::desc(weight_dims(p), f32, p.groups == 1 ? tag::oihw : tag::goihw);
  const memory::desc any_wei(weight_dims(p), f32, tag::any);
  m.bias_md = memory::desc({p.oc}, f32, tag::x);

  const memory::dims strides{p.stride_h, p.stride_w}, dil{p.dilation_h - 1, p.dilation_w - 1},
      pad_l{p.pad_top, p.pad_left}, pad_r{p.pad_bottom, p.pad_right};
  const auto kind = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  auto desc = p.has_bias ? dnnl::convolution_forward::desc(kind, alg, m.src_md, any_wei, m.bias_md, m.dst_md,
                                                           strides, dil, pad_l, pad_r)
                         : dnnl::convolution_forward::desc(kind, alg, m.src_md, any_wei, m.dst_md, strides, dil,
                                                           pad_l, pad_r);
  // dst = act(conv + bias + 1 * dst_before): `sum` reads dst (which holds the residual) before `eltwise`.
  dnnl::post_ops po;
  if (p.has_residual) po.append_sum(1.f);
  if (p.act.kind == gemm::Activation::hard_sigmoid) {
    // max(0, min(1, alpha * y + beta)) = clip(linear(y; alpha, beta); 0, 1): oneDNN 2.6 has no hardsigmoid.
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, p.act.alpha, p.act.beta);
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 1.f);
  } else if (p.act.kind != gemm::Activation::none) {
    const float alpha = p.act.kind == gemm::Activation::relu   ? 0.f
                        : p.act.kind == gemm::Activation::silu ? 1.f
                                                               : p.act.alpha;
    po.append_eltwise(1.f, eltwise_of(p.act.kind), alpha, p.act.beta);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  // Implementations size their scratchpad (and pick blocking) for omp_get_max_threads() at creation; create
  // for the team size run() will use, never more.
  m.threads = std::max(1, threads);
  omp_set_num_threads(m.threads);
  m.pd = dnnl::convolution_forward::primitive_desc(desc, attr, eng);
  m.prim = dnnl::convolution_forward(m.pd);
  m.scratch_bytes = m.pd.scratchpad_desc().get_size();
  m.wei_bytes = m.pd.weights_desc().get_size();

  dnnl::stream& s = thread_stream();
  if (weights) {
    memory user(m.user_wei_md, eng, const_cast<float*>(weights));
    m.weights = memory(m.pd.weights_desc(), eng);
    dnnl::reorder(user, m.weights).execute(s, user, m.weights);
    s.wait();
  } else {
    m.weights_at_run = true;
    m.wei_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, m.user_wei_md, eng, m.pd.weights_desc()));
  }
  if (p.has_bias) {
    if (bias) {
      m.bias = memory(m.bias_md, eng);
      std::memcpy(m.bias.get_data_handle(), bias, size_t(p.oc) * sizeof(float));
    } else {
      m.bias_at_run = true;
    }
  }
  if (p.has_residual && p.residual_nhwc != p.dst_nhwc) {
    m.res_needs_reorder = true;
    m.res_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, m.res_md, eng, m.dst_md));
  }
}

ConvFp32Onednn::~ConvFp32Onednn() = default;

size_t ConvFp32Onednn::workspace_bytes() const {
  return round64(impl_->scratch_bytes) + (impl_->weights_at_run ? round64(impl_->wei_bytes) : 0);
}

std::string ConvFp32Onednn::impl() const { return impl_->pd.impl_info_str(); }

void ConvFp32Onednn::run(const float* src, float* dst, const float* residual, void* workspace, int threads,
                         const float* weights, const float* bias) const {
  const Impl& m = *impl_;
  omp_set_num_threads(std::clamp(threads, 1, m.threads));
  dnnl::engine& eng = cpu_engine();
  dnnl::stream& s = thread_stream();
  char* ws = static_cast<char*>(workspace);

  memory dst_mem(m.dst_md, eng, dst);
  if (p_.has_residual && residual != dst) {
    // The sum post-op adds what dst holds: put the residual there first (converting its layout if needed).
    if (m.res_needs_reorder) {
      memory res_mem(m.res_md, eng, const_cast<float*>(residual));
      m.res_reorder.execute(s, res_mem, dst_mem);
    } else {
      std::memcpy(dst, residual, m.dst_md.get_size());
    }
  }
  memory wei_mem = m.weights;
  if (m.weights_at_run) {
    wei_mem = memory(m.pd.weights_desc(), eng, ws + round64(m.scratch_bytes));
    memory user(m.user_wei_md, eng, const_cast<float*>(weights));
    m.wei_reorder.execute(s, user, wei_mem);
  }
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(m.src_md, eng, const_cast<float*>(src))},
      {DNNL_ARG_WEIGHTS, wei_mem},
      {DNNL_ARG_DST, dst_mem},
      {DNNL_ARG_SCRATCHPAD, memory(m.pd.scratchpad_desc(), eng, ws)}};
  if (p_.has_bias)
    args.emplace(DNNL_ARG_BIAS, m.bias_at_run ? memory(m.bias_md, eng, const_cast<float*>(bias)) : m.bias);
  m.prim.execute(s, args);
  s.wait();
}

void conv_ref(const ConvParams& p, const float* src, const float* w, const float* bias, const float* residual,
              float* dst) {
  const int64_t icg = p.ic / p.groups, ocg = p.oc / p.groups;
  // Offsets of logical (n, c, h, w) in each layout.
  auto at = [](bool nhwc, int64_t C, int64_t H, int64_t W, int64_t n, int64_t c, int64_t h, int64_t x) {
    return nhwc ? ((n * H + h) * W + x) * C + c : ((n * C + c) * H + h) * W + x;
  };
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t oc = 0; oc < p.oc; ++oc) {
      const int64_t g = oc / ocg;
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          double s = p.has_bias ? bias[oc] : 0.0;
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t ky = 0; ky < p.kh; ++ky) {
              const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
              if (iy < 0 || iy >= p.ih) continue;
              for (int64_t kx = 0; kx < p.kw; ++kx) {
                const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (ix < 0 || ix >= p.iw) continue;
                s += double(src[at(p.src_nhwc, p.ic, p.ih, p.iw, n, g * icg + c, iy, ix)]) *
                     w[((oc * icg + c) * p.kh + ky) * p.kw + kx];
              }
            }
          if (p.has_residual) s += residual[at(p.residual_nhwc, p.oc, p.oh, p.ow, n, oc, oy, ox)];
          float v = float(s);
          switch (p.act.kind) {
            case gemm::Activation::none: break;
            case gemm::Activation::relu: v = std::max(v, 0.f); break;
            case gemm::Activation::leaky_relu: v = v >= 0 ? v : p.act.alpha * v; break;
            case gemm::Activation::clip: v = std::min(std::max(v, p.act.alpha), p.act.beta); break;
            case gemm::Activation::sigmoid: v = 1.f / (1.f + std::exp(-v)); break;
            case gemm::Activation::hard_sigmoid:
              v = std::max(0.f, std::min(1.f, p.act.alpha * v + p.act.beta));
              break;
            case gemm::Activation::hard_swish:
              v = v * std::max(0.f, std::min(1.f, v / 6.f + 0.5f));
              break;
            case gemm::Activation::silu:
              v = v / (1.f + std::exp(-v));
              break;
          }
          dst[at(p.dst_nhwc, p.oc, p.oh, p.ow, n, oc, oy, ox)] = v;
        }
    }
}

}  // namespace octet::kernels::conv
