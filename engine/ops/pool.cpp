// Pooling ops: GlobalMaxPool (float32, plain), MaxPool (float32, uint8, int8; optional Indices output), AveragePool (1-D, 2-D and 3-D windows,
// pads, strides, dilations, ceil_mode, count_include_pad) and GlobalAveragePool, in plain NCHW or (2-D) NHWC
// layout. Loops: kernels/pool.
#include "engine/kernel.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/pool/global_max.h"
#include "kernels/pool/pool.h"

namespace octet::ops {
namespace {

namespace kp = kernels::pool;

class PoolKernel final : public Kernel {
 public:
  /// `indices`: MaxPool's second output is wanted (storage_order 1 = column-major numbering).
  PoolKernel(kp::PoolKind kind, DType dt, int64_t n, kp::Geom g, bool nhwc, bool indices, bool column_major,
             const kp::Table& t)
      : kind_(kind), dt_(dt), n_(n), g_(g), nhwc_(nhwc), indices_(indices), column_major_(column_major), t_(t) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    switch (dt_) {
      case DType::u8: return run_t<uint8_t>(ctx, in, out);
      case DType::i8: return run_t<int8_t>(ctx, in, out);
      default: return run_t<float>(ctx, in, out);
    }
  }
  std::string name() const override {
    std::string k = kind_ == kp::PoolKind::max ? "max" : "avg";
    if (dt_ != DType::f32) k += std::string("_") + dtype_name(dt_);
    if (indices_) return "pool/" + k + "_indices_nchw/scalar";
    return "pool/" + k + (nhwc_ ? "_nhwc/" : "_nchw/") + t_.isa;
  }

 private:
  template <class T>
  void run_t(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const {
    const T* x = in[0].as<const T>();
    T* y = out[0].as<T>();
    const int64_t in_plane = g_.d * g_.h * g_.w, out_plane = g_.od * g_.oh * g_.ow;
    const int64_t taps = g_.kd * g_.kh * g_.kw;
    if (indices_) {
      int64_t* idx = out[1].as<int64_t>();
      split_work(ctx, n_ * g_.c, out_plane * taps, [&](int64_t p0, int64_t p1) {
        max_indices(x + p0 * in_plane, y + p0 * out_plane, idx + p0 * out_plane, p0, p1 - p0);
      });
    } else if (nhwc_) {
      // Work unit: one output row of one image (ow * c outputs of `taps` reads each).
      const int64_t in_img = g_.c * in_plane, out_img = g_.c * out_plane;
      split_work(ctx, n_ * g_.oh, g_.ow * g_.c * taps, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1;) {
          const int64_t img = u / g_.oh, r0 = u % g_.oh, r1 = std::min(g_.oh, r0 + (u1 - u));
          nhwc_rows(x + img * in_img, y + img * out_img, r0, r1);
          u += r1 - r0;
        }
      });
    } else {
      split_work(ctx, n_ * g_.c, out_plane * taps, [&](int64_t p0, int64_t p1) {
        nchw_planes(x + p0 * in_plane, y + p0 * out_plane, p1 - p0);
      });
    }
  }
  void nchw_planes(const float* x, float* y, int64_t planes) const { t_.pool_nchw(kind_, g_, x, y, planes); }
  void nchw_planes(const uint8_t* x, uint8_t* y, int64_t planes) const { t_.max_nchw_u8(g_, x, y, planes); }
  void nchw_planes(const int8_t* x, int8_t* y, int64_t planes) const { t_.max_nchw_s8(g_, x, y, planes); }
  void nhwc_rows(const float* x, float* y, int64_t r0, int64_t r1) const { t_.pool_nhwc(kind_, g_, x, y, r0, r1); }
  void nhwc_rows(const uint8_t* x, uint8_t* y, int64_t r0, int64_t r1) const { t_.max_nhwc_u8(g_, x, y, r0, r1); }
  void nhwc_rows(const int8_t* x, int8_t* y, int64_t r0, int64_t r1) const { t_.max_nhwc_s8(g_, x, y, r0, r1); }
  void max_indices(const float* x, float* y, int64_t* i, int64_t p0, int64_t np) const {
    kp::max_with_indices_f32(g_, x, y, i, p0, np, column_major_);
  }
  void max_indices(const uint8_t* x, uint8_t* y, int64_t* i, int64_t p0, int64_t np) const {
    kp::max_with_indices_u8(g_, x, y, i, p0, np, column_major_);
  }
  void max_indices(const int8_t* x, int8_t* y, int64_t* i, int64_t p0, int64_t np) const {
    kp::max_with_indices_s8(g_, x, y, i, p0, np, column_major_);
  }

  kp::PoolKind kind_;
  DType dt_;
  int64_t n_;
  kp::Geom g_;
  bool nhwc_, indices_, column_major_;
  const kp::Table& t_;
};

void check_pool_io(const KernelInfo& info) {
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
  const DType dt = info.input(0).dtype;
  // MaxPool (opset 12+) also takes int8 / uint8; AveragePool is float only.
  if (K == kp::PoolKind::max) {
    if (dt != DType::f32 && dt != DType::u8 && dt != DType::i8)
      unsupported(info, std::string("input '") + info.input(0).name + "' has type " + dtype_name(dt) +
                            ", only float32, uint8 and int8 are supported");
  } else {
    require_dtype(info, 0, DType::f32);
  }
  if (info.output(0).dtype != dt)
    info.fail(std::string("output has type ") + dtype_name(info.output(0).dtype) + ", expected " + dtype_name(dt));
  const bool indices = K == kp::PoolKind::max && node.outputs.size() > 1 && node.outputs[1] >= 0;
  if (K == kp::PoolKind::avg && node.outputs.size() > 1 && node.outputs[1] >= 0)
    info.fail("AveragePool has one output, got " + std::to_string(node.outputs.size()));
  const Shape s = info.in_shape(0);
  if (s.size() < 3 || s.size() > 5)
    unsupported(info, "input " + shape_str(s) + ": only 1-D, 2-D and 3-D pooling (rank 3 to 5) is supported");
  const WindowGeometry wg = window_geometry(info.graph, info.node_id, s);
  kp::Geom g;
  g.c = s[1];
  // 1-D pooling runs as 2-D with a height of 1 and a 1-tap window along it; 1-D and 2-D keep Geom's default
  // depth (one slice, a 1-tap window). wi / hi / di: the index of the width / height / depth dim in wg.
  const size_t sp = s.size() - 2;
  const size_t wi = sp - 1;
  if (sp >= 2) {
    const size_t hi = sp - 2;
    g.h = s[2 + hi], g.oh = wg.out[hi];
    g.kh = wg.kernel[hi], g.sh = wg.strides[hi], g.dh = wg.dilations[hi];
    g.pad_t = wg.pads_begin[hi], g.pad_b = wg.pads_end[hi];
  } else {
    g.h = 1, g.oh = 1;
  }
  if (sp == 3) {
    g.d = s[2], g.od = wg.out[0];
    g.kd = wg.kernel[0], g.sd = wg.strides[0], g.dd = wg.dilations[0];
    g.pad_f = wg.pads_begin[0], g.pad_bk = wg.pads_end[0];
  }
  g.w = s.back();
  g.ow = wg.out[wi];
  g.kw = wg.kernel[wi], g.sw = wg.strides[wi], g.dw = wg.dilations[wi];
  g.pad_l = wg.pads_begin[wi], g.pad_r = wg.pads_end[wi];
  g.count_include_pad = wg.count_include_pad;
  Shape want{s[0], s[1]};
  want.insert(want.end(), wg.out.begin(), wg.out.end());
  if (info.out_shape(0) != want)
    info.fail("output shape " + shape_str(info.out_shape(0)) + " does not match the window geometry (" +
              shape_str(want) + ")");
  const int64_t storage_order = node.attr_i("storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    info.fail("storage_order " + std::to_string(storage_order) + " is not 0 (row major) or 1 (column major)");
  if (indices) {
    // Indices count positions of the plain N*C*D*H*W input, so this path reads and writes plain tensors.
    require_plain(info);
    if (info.output(1).dtype != DType::i64)
      info.fail(std::string("output 'Indices' has type ") + dtype_name(info.output(1).dtype) + ", expected int64");
    if (info.out_shape(1) != want)
      info.fail("output 'Indices' has shape " + shape_str(info.out_shape(1)) + ", expected " + shape_str(want));
  }
  return std::make_unique<PoolKernel>(K, dt, s[0], g, info.input(0).layout == Layout::nhwc, indices,
                                      storage_order == 1, kp::table(info.isa));
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
  require_dtype(info, 0, DType::f32);
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

// GlobalMaxPool: plain NCHW float32 only (kernels/pool/global_max.h); max over each plane.
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

void register_pool(KernelRegistry& r) {
  r.add("", "MaxPool", make_pool<kp::PoolKind::max>);
  r.add("", "AveragePool", make_pool<kp::PoolKind::avg>);
  r.add("", "GlobalAveragePool", make_global_avg_pool);
  r.add("", "GlobalMaxPool", make_global_max_pool);
}

}  // namespace octet::ops
