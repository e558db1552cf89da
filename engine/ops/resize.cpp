// Resize (opset 10, 11, 13) and Upsample (7, 9). Parameters: graph/data_op_attrs.h (resize_spec); maths:
// kernels/resize/resize.h.
//  - nearest: every output element is one input element, so it runs as an index map (kernels/copy): rows are
//    memcpy'd or, for 2x upsampling, each source row is expanded once and the repeated rows copied. Any dtype.
//  - linear / cubic (float32): separable passes, one per resized axis (kernels/resize: resize_separable).
//  - plain NCHW, or NHWC when the layout pass keeps a conv chain's activations NHWC through the resize (FPN).
// OCTET_RESIZE=ref runs the scalar reference instead (tests compare the two).
#include "kernels/resize/resize.h"

#include <cstdlib>
#include <cstring>

#include "engine/kernel.h"
#include "engine/ops/data_util.h"
#include "engine/ops/ops.h"
#include "graph/data_op_attrs.h"
#include "kernels/copy/index_map.h"

namespace octet::ops {
namespace {

namespace kr = kernels::resize;
namespace kc = kernels::copy;

kr::Params to_params(const ResizeSpec& s) {
  kr::Params p;
  p.mode = kr::Mode(int(s.mode));
  p.coord = kr::Coord(int(s.coord));
  p.nearest = kr::Nearest(int(s.nearest));
  p.cubic_a = s.cubic_a;
  p.exclude_outside = s.exclude_outside;
  p.extrapolation = s.extrapolation;
  return p;
}

class ResizeNearestKernel final : public Kernel {
 public:
  ResizeNearestKernel(kc::IndexMap m, size_t es, uint64_t fill, bool nhwc)
      : map_(kc::simplify(m)), es_(es), fill_(fill), nhwc_(nhwc) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    kc::index_map_copy(map_, in[0].data, out[0].data, es_, &fill_, ctx.parallel);
  }
  std::string name() const override { return nhwc_ ? "resize/nearest_index_map_nhwc" : "resize/nearest_index_map"; }

 private:
  kc::IndexMap map_;
  size_t es_;
  uint64_t fill_;
  bool nhwc_;
};

class ResizeKernel final : public Kernel {
 public:
  ResizeKernel(std::vector<kr::Axis> axes, float extrapolation, bool ref, bool nhwc)
      : axes_(std::move(axes)), extrapolation_(extrapolation), ref_(ref), nhwc_(nhwc) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    if (ref_) return kr::resize_ref(axes_, extrapolation_, in[0].as<const float>(), out[0].as<float>());
    kr::resize_separable(axes_, extrapolation_, in[0].as<const float>(), out[0].as<float>(),
                         static_cast<float*>(ctx.workspace), ctx.parallel);
  }
  size_t workspace_bytes() const override { return ref_ ? 0 : kr::resize_separable_floats(axes_) * sizeof(float); }
  std::string name() const override {
    const char* m = axes_.empty() || axes_[0].taps == 1 ? "nearest" : axes_[0].taps == 2 ? "linear" : "cubic";
    return std::string("resize/") + m + (ref_ ? "_ref" : "_separable") + (nhwc_ ? "_nhwc" : "");
  }

 private:
  std::vector<kr::Axis> axes_;
  float extrapolation_;
  bool ref_, nhwc_;
};

std::unique_ptr<Kernel> make_resize(const KernelInfo& info) {
  const Shape x = info.in_shape(0);
  // NHWC (a 4-D activation between convs, graph/passes/assign_layout.cpp): the same per-axis resampling over
  // the physical dim order [N, H, W, C]; the channel axis is then the inner, vectorised one of both passes.
  const bool nhwc = info.input(0).layout == Layout::nhwc;
  if (nhwc && (x.size() != 4 || info.output(0).layout != Layout::nhwc))
    unsupported(info, "nhwc layout needs a 4-D input and an nhwc output");
  if (!nhwc) require_plain(info);
  const ResizeSpec s = resize_spec(info.graph, info.node_id, x);
  if (info.out_shape(0) != s.out)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(s.out));
  if (info.output(0).dtype != info.input(0).dtype) info.fail("output type differs from the input's");
  for (size_t d = 0; d < x.size(); ++d)
    if (x[d] == 0 && s.out[d] > 0)
      info.fail("cannot resize an empty dimension " + std::to_string(d) + " to a non-empty one");
  const kr::Params p = to_params(s);
  // Axes in memory order: perm[k] is the logical dim stored k-th.
  std::vector<size_t> perm(x.size());
  for (size_t d = 0; d < x.size(); ++d) perm[d] = d;
  if (nhwc) perm = {0, 2, 3, 1};
  std::vector<kr::Axis> axes;
  Shape phys;
  for (size_t k = 0; k < x.size(); ++k) {
    const size_t d = perm[k];
    const double rs = s.roi.empty() ? 0 : s.roi[d], re = s.roi.empty() ? 1 : s.roi[d + x.size()];
    axes.push_back(kr::make_axis(p, x[d], s.out[d], s.scales[d], rs, re));
    phys.push_back(x[d]);
  }
  const char* force = std::getenv("OCTET_RESIZE");
  const bool ref = force && std::strcmp(force, "ref") == 0;
  if (s.mode == ResizeSpec::Mode::nearest && !ref) {
    const size_t es = element_bytes(info, info.input(0));
    const std::vector<int64_t> st = strides_of(phys);
    kc::IndexMap m;
    for (size_t k = 0; k < axes.size(); ++k) {
      m.out.push_back(axes[k].out);
      std::vector<int64_t> t(static_cast<size_t>(axes[k].out));
      for (int64_t j = 0; j < axes[k].out; ++j)
        t[size_t(j)] = axes[k].outside[size_t(j)] ? kc::kFill : axes[k].idx[size_t(j)] * st[k];
      m.tab.push_back(std::move(t));
    }
    uint64_t fill = 0;
    store_scalar(info.input(0).dtype, s.extrapolation, &fill);
    return std::make_unique<ResizeNearestKernel>(std::move(m), es, fill, nhwc);
  }
  require_dtype(info, 0, DType::f32);
  return std::make_unique<ResizeKernel>(std::move(axes), s.extrapolation, ref, nhwc);
}

}  // namespace

void register_resize(KernelRegistry& r) {
  r.add("", "Resize", make_resize);
  r.add("", "Upsample", make_resize);
}

}  // namespace octet::ops
