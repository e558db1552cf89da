#include "kernels/qgemm/qgemm_onednn.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "kernels/conv/conv_fp32_onednn.h"

namespace octet::kernels::qgemm {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct QGemmOnednn::Impl {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  memory::desc a_md, c_md;
  memory weights, bias;
  int threads = 1;
};

QGemmOnednn::QGemmOnednn() : impl_(std::make_unique<Impl>()) {}
QGemmOnednn::~QGemmOnednn() = default;

std::unique_ptr<QGemmOnednn> QGemmOnednn::try_create(size_t m, size_t n, size_t k, const int8_t* w,
                                                     const int32_t* bias, int32_t za, const float* scale,
                                                     const Epilogue& ep, int threads) {
  std::unique_ptr<QGemmOnednn> q(new QGemmOnednn());
  Impl& im = *q->impl_;
  dnnl::engine& eng = conv::onednn_engine();
  const auto M = memory::dim(m), N = memory::dim(n), K = memory::dim(k);
  const bool u8 = ep.kind == OutKind::u8;
  if (ep.kind == OutKind::s32) return nullptr;  // not needed by any op
  im.a_md = memory::desc({M, K}, dt::u8, tag::ab);
  im.c_md = memory::desc({M, N}, u8 ? dt::u8 : dt::f32, tag::ab);
  // W is n x k row-major, i.e. the K x N weights matrix in column-major order (tag ba).
  const memory::desc user_w_md({K, N}, dt::s8, tag::ba), any_w_md({K, N}, dt::s8, tag::any);
  const memory::desc bias_md({1, N}, dt::s32, tag::ab);
  // B'[j] = B[j] - z_a * colsum(w)[j]: exact (no padding in a GEMM), see the header.
  std::vector<int32_t> b(n);
  for (size_t j = 0; j < n; ++j) {
    int32_t colsum = 0;
    for (size_t i = 0; i < k; ++i) colsum += w[j * k + i];
    b[j] = (bias ? bias[j] : 0) - za * colsum;
  }
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_output_scales(1 << 1, std::vector<float>(scale, scale + n));
  if (u8) {
    // t = oscale[j] * (acc + B'[j]); clip to [lo - z_y, hi - z_y]; y = saturate(round(t + z_y)) - qconv_onednn.cpp
    // derives why this equals octet's epilogue up to the float addition t + z_y.
    dnnl::post_ops po;
    if (ep.lo > 0 || ep.hi < 255)
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, float(ep.lo - ep.zero_point),
                        float(ep.hi - ep.zero_point));
    attr.set_post_ops(po);
    if (ep.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {ep.zero_point});
  }
  im.threads = std::max(1, threads);
  omp_set_num_threads(im.threads);
  try {
    im.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(im.a_md, any_w_md, bias_md, im.c_md), attr, eng);
  } catch (const dnnl::error&) {
    return nullptr;
  }
  im.prim = dnnl::matmul(im.pd);
  dnnl::stream& s = conv::onednn_thread_stream();
  memory user(user_w_md, eng, const_cast<int8_t*>(w));
  im.weights = memory(im.pd.weights_desc(), eng);
  dnnl::reorder(user, im.weights).execute(s, user, im.weights);
  s.wait();
  im.bias = memory(bias_md, eng);
  std::memcpy(im.bias.get_data_handle(), b.data(), n * sizeof(int32_t));
  return q;
}

size_t QGemmOnednn::workspace_bytes() const { return (impl_->pd.scratchpad_desc().get_size() + 63) / 64 * 64; }

std::string QGemmOnednn::impl() const { return impl_->pd.impl_info_str(); }

void QGemmOnednn::run(const uint8_t* a, void* c, void* workspace, int threads) const {
  const Impl& im = *impl_;
  omp_set_num_threads(std::clamp(threads, 1, im.threads));
  dnnl::engine& eng = conv::onednn_engine();
  dnnl::stream& s = conv::onednn_thread_stream();
  im.prim.execute(s, {{DNNL_ARG_SRC, memory(im.a_md, eng, const_cast<uint8_t*>(a))},
                      {DNNL_ARG_WEIGHTS, im.weights},
                      {DNNL_ARG_BIAS, im.bias},
                      {DNNL_ARG_DST, memory(im.c_md, eng, c)},
                      {DNNL_ARG_SCRATCHPAD, memory(im.pd.scratchpad_desc(), eng, workspace)}});
  s.wait();
}

}  // namespace octet::kernels::qgemm
