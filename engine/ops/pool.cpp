// Pooling ops: MaxPool, AveragePool (1-D and 2-D windows, pads, strides, dilations, ceil_mode,
// count_include_pad) and GlobalAveragePool, in plain NCHW or NHWC layout. Loops: kernels/pool.
#include "engine/kernel.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/pool/pool.h"

namespace octet::ops {
namespace {

namespace kp = kernels::pool;

class PoolKernel final : public Kernel {
 public:
  PoolKernel(kp::PoolKind kind, int64_t n, kp::Geom g, bool nhwc, const kp::Table& t)
      : kind_(kind), n_(n), g_(g), nhwc_(nhwc), t_(t) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    const int64_t in_img = g_.c * g_.h * g_.w, out_img = g_.c * g_.oh * g_.ow;
    const int64_t taps = g_.kh * g_.kw;
    if (nhwc_) {
      // Work unit: one output row of one image (ow * c outputs of `taps` reads each).
      split_work(ctx, n_ * g_.oh, g_.ow * g_.c * taps, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1;) {
          const int64_t img = u / g_.oh, r0 = u % g_.oh, r1 = std::min(g_.oh, r0 + (u1 - u));
          t_.pool_nhwc(kind_, g_, x + img * in_img, y + img * out_img, r0, r1);
          u += r1 - r0;
        }
      });
    } else {
      split_work(ctx, n_ * g_.c, g_.oh * g_.ow * taps, [&](int64_t p0, int64_t p1) {
        t_.pool_nchw(kind_, g_, x + p0 * g_.h * g_.w, y + p0 * g_.oh * g_.ow, p1 - p0);
      });
    }
  }
  std::string name() const override {
    return std::string("pool/") + (kind_ == kp::PoolKind::max ? "max" : "avg") + (nhwc_ ? "_nhwc/" : "_nchw/") +
           t_.isa;
  }

 private:
  kp::PoolKind kind_;
  int64_t n_;
  kp::Geom g_;
  bool nhwc_;
  const kp::Table& t_;
};

void check_pool_io(const KernelInfo& info) {
  require_dtype(info, 0, DType::f32);
  if (info.input(0).layout != info.output(0).layout)
    unsupported(info, std::string("input layout ") + layout_name(info.input(0).layout) + " differs from output layout " +
                          layout_name(info.output(0).layout));
  if (info.input(0).layout == Layout::nhwc && info.in_shape(0).size() != 4)
    unsupported(info, "nhwc layout needs a 4-D input");
}

template <kp::PoolKind K>
std::unique_ptr<Kernel> make_pool(const KernelInfo& info) {
  check_pool_io(info);
  const Node& node = info.node();
  if (K == kp::PoolKind::max && node.outputs.size() > 1 && node.outputs[1] >= 0)
    unsupported(info, "the Indices output is not supported");
  const Shape s = info.in_shape(0);
  if (s.size() != 3 && s.size() != 4)
    unsupported(info, "input " + shape_str(s) + ": only 1-D and 2-D pooling (rank 3 or 4) is supported");
  const WindowGeometry wg = window_geometry(info.graph, info.node_id, s);
  kp::Geom g;
  g.c = s[1];
  // 1-D pooling runs as 2-D with a height of 1 and a 1-tap window along it.
  const bool two_d = s.size() == 4;
  const size_t wi = two_d ? 1 : 0;
  g.h = two_d ? s[2] : 1;
  g.w = s.back();
  g.oh = two_d ? wg.out[0] : 1;
  g.ow = wg.out[wi];
  if (two_d) {
    g.kh = wg.kernel[0], g.sh = wg.strides[0], g.dh = wg.dilations[0];
    g.pad_t = wg.pads_begin[0], g.pad_b = wg.pads_end[0];
  }
  g.kw = wg.kernel[wi], g.sw = wg.strides[wi], g.dw = wg.dilations[wi];
  g.pad_l = wg.pads_begin[wi], g.pad_r = wg.pads_end[wi];
  g.count_include_pad = wg.count_include_pad;
  const Shape want = two_d ? Shape{s[0], s[1], g.oh, g.ow} : Shape{s[0], s[1], g.ow};
  if (info.out_shape(0) != want)
    info.fail("output shape " + shape_str(info.out_shape(0)) + " does not match the window geometry (" +
              shape_str(want) + ")");
  return std::make_unique<PoolKernel>(K, s[0], g, info.input(0).layout == Layout::nhwc, kp::table(info.isa));
}

class GlobalAvgPoolKernel final : public Kernel {
 public:
  GlobalAvgPoolKernel(int64_t n, int64_t c, int64_t hw, bool nhwc, const kp::Table& t)
      : n_(n), c_(c), hw_(hw), nhwc_(nhwc), t_(t) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    if (nhwc_) {
      // The output [N, C, 1, 1] is the same bytes in either layout. Split each image's channels into groups of
      // 64 (whole vectors), so batch 1 still uses every thread.
      constexpr int64_t G = 64;
      const int64_t groups = (c_ + G - 1) / G;
      split_work(ctx, n_ * groups, G * hw_, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u) {
          const int64_t img = u / groups, c0 = (u % groups) * G, c1 = std::min(c_, c0 + G);
          t_.global_avg_nhwc(x + img * hw_ * c_, y + img * c_, hw_, c_, c0, c1);
        }
      });
    } else {
      split_work(ctx, n_ * c_, hw_, [&](int64_t p0, int64_t p1) {
        t_.global_avg_nchw(x + p0 * hw_, y + p0, p1 - p0, hw_);
      });
    }
  }
  std::string name() const override { return std::string("pool/global_avg") + (nhwc_ ? "_nhwc/" : "_nchw/") + t_.isa; }

 private:
  int64_t n_, c_, hw_;
  bool nhwc_;
  const kp::Table& t_;
};

std::unique_ptr<Kernel> make_global_avg_pool(const KernelInfo& info) {
  check_pool_io(info);
  const Shape s = info.in_shape(0);
  if (s.size() < 3) info.fail("input has shape " + shape_str(s) + ", expected N x C x spatial dims (rank 3 or more)");
  int64_t hw = 1;
  for (size_t i = 2; i < s.size(); ++i) hw *= s[i];
  if (hw == 0) info.fail("input has shape " + shape_str(s) + ": the mean of an empty window is undefined");
  Shape want(s.size(), 1);
  want[0] = s[0], want[1] = s[1];
  if (info.out_shape(0) != want) info.fail("output shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(want));
  return std::make_unique<GlobalAvgPoolKernel>(s[0], s[1], hw, info.input(0).layout == Layout::nhwc,
                                               kp::table(info.isa));
}

}  // namespace

void register_pool(KernelRegistry& r) {
  r.add("", "MaxPool", make_pool<kp::PoolKind::max>);
  r.add("", "AveragePool", make_pool<kp::PoolKind::avg>);
  r.add("", "GlobalAveragePool", make_global_avg_pool);
}

}  // namespace octet::ops
