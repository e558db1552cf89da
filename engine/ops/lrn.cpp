// LRN (across channels) and GlobalMaxPool, float32 in plain NCHW layout. Loops: kernels/pool/lrn.h.
#include "kernels/pool/lrn.h"

#include "engine/kernel.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace octet::ops {
namespace {

namespace kp = kernels::pool;

class LrnKernel final : public Kernel {
 public:
  LrnKernel(int64_t n, int64_t c, int64_t hw, int64_t size, float alpha, float beta, float bias)
      : n_(n), c_(c), hw_(hw), size_(size), alpha_(alpha), beta_(beta), bias_(bias) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    split_work(ctx, n_, c_ * hw_ * size_, [&](int64_t n0, int64_t n1) {
      kp::lrn_nchw(in[0].as<const float>(), out[0].as<float>(), n0, n1, c_, hw_, size_, alpha_, beta_, bias_);
    });
  }
  std::string name() const override { return "norm/lrn_nchw"; }

 private:
  int64_t n_, c_, hw_, size_;
  float alpha_, beta_, bias_;
};

std::unique_ptr<Kernel> make_lrn(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  const Shape s = info.in_shape(0);
  if (s.size() < 3) info.fail("input has shape " + shape_str(s) + ", expected N x C x spatial dims");
  const Node& n = info.node();
  const int64_t size = n.attr_i("size", 0);
  if (size < 1) info.fail("attribute 'size' is required and must be positive");
  int64_t hw = 1;
  for (size_t d = 2; d < s.size(); ++d) hw *= s[d];
  return std::make_unique<LrnKernel>(s[0], s[1], hw, size, n.attr_f("alpha", 1e-4f), n.attr_f("beta", 0.75f),
                                     n.attr_f("bias", 1.f));
}

class GlobalMaxPoolKernel final : public Kernel {
 public:
  GlobalMaxPoolKernel(int64_t planes, int64_t hw) : planes_(planes), hw_(hw) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    split_work(ctx, planes_, hw_, [&](int64_t p0, int64_t p1) {
      kp::global_max_nchw(in[0].as<const float>() + p0 * hw_, out[0].as<float>() + p0, p1 - p0, hw_);
    });
  }
  std::string name() const override { return "pool/global_max_nchw"; }

 private:
  int64_t planes_, hw_;
};

std::unique_ptr<Kernel> make_global_max_pool(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  const Shape s = info.in_shape(0);
  if (s.size() < 3) info.fail("input has shape " + shape_str(s) + ", expected N x C x spatial dims");
  int64_t hw = 1;
  for (size_t d = 2; d < s.size(); ++d) hw *= s[d];
  if (hw == 0) info.fail("input has shape " + shape_str(s) + ": the max of an empty window is undefined");
  return std::make_unique<GlobalMaxPoolKernel>(s[0] * s[1], hw);
}

}  // namespace

void register_spatial_extra(KernelRegistry& r) {
  r.add("", "LRN", make_lrn);
  r.add("", "GlobalMaxPool", make_global_max_pool);
}

}  // namespace octet::ops
