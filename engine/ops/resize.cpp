// Resize (opset 10, 11, 13) and Upsample (7, 9). Parameters: graph/data_op_attrs.h (resize_spec); maths:
// kernels/resize/resize.h.
//  - nearest: every output element is one input element, so it runs as an index map (kernels/copy): rows are
//    memcpy'd or, for 2x upsampling, each source row is expanded once and the repeated rows copied. Any dtype.
//  - linear / cubic (float32): separable passes, one per resized axis (kernels/resize: resize_separable).
// OCTET_RESIZE=ref runs the scalar reference instead (tests compare the two).
#include <cstdlib>
#include <cstring>

#include "engine/kernel.h"
#include "engine/ops/data_util.h"
#include "engine/ops/ops.h"
#include "graph/data_op_attrs.h"
#include "kernels/copy/index_map.h"
#include "kernels/resize/resize.h"

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
  ResizeNearestKernel(kc::IndexMap m, size_t es, uint64_t fill) : map_(kc::simplify(m)), es_(es), fill_(fill) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    kc::index_map_copy(map_, in[0].data, out[0].data, es_, &fill_, ctx.parallel);
  }
  std::string name() const override { return "resize/nearest_index_map"; }

 private:
  kc::IndexMap map_;
  size_t es_;
  uint64_t fill_;
};

class ResizeKernel final : public Kernel {
 public:
  ResizeKernel(std::vector<kr::Axis> axes, float extrapolation, bool ref)
      : axes_(std::move(axes)), extrapolation_(extrapolation), ref_(ref) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    if (ref_) return kr::resize_ref(axes_, extrapolation_, in[0].as<const float>(), out[0].as<float>());
    kr::resize_separable(axes_, extrapolation_, in[0].as<const float>(), out[0].as<float>(),
                         static_cast<float*>(ctx.workspace), ctx.parallel);
  }
  size_t workspace_bytes() const override { return ref_ ? 0 : kr::resize_separable_floats(axes_) * sizeof(float); }
  std::string name() const override {
    const char* m = axes_.empty() || axes_[0].taps == 1 ? "nearest" : axes_[0].taps == 2 ? "linear" : "cubic";
    return std::string("resize/") + m + (ref_ ? "_ref" : "_separable");
  }

 private:
  std::vector<kr::Axis> axes_;
  float extrapolation_;
  bool ref_;
};

std::unique_ptr<Kernel> make_resize(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  const ResizeSpec s = resize_spec(info.graph, info.node_id, x);
  if (info.out_shape(0) != s.out)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(s.out));
  if (info.output(0).dtype != info.input(0).dtype) info.fail("output type differs from the input's");
  const kr::Params p = to_params(s);
  for (size_t d = 0; d < x.size(); ++d)
    if (x[d] == 0 && s.out[d] > 0) info.fail("cannot resize an empty dimension " + std::to_string(d) + " to a non-empty one");
  std::vector<kr::Axis> axes;
  for (size_t d = 0; d < x.size(); ++d) {
    const double rs = s.roi.empty() ? 0 : s.roi[d], re = s.roi.empty() ? 1 : s.roi[d + x.size()];
    axes.push_back(kr::make_axis(p, x[d], s.out[d], s.scales[d], rs, re));
  }
  const char* force = std::getenv("OCTET_RESIZE");
  const bool ref = force && std::strcmp(force, "ref") == 0;
  if (s.mode == ResizeSpec::Mode::nearest && !ref) {
    const size_t es = element_bytes(info, info.input(0));
    const std::vector<int64_t> st = strides_of(x);
    kc::IndexMap m;
    for (size_t d = 0; d < x.size(); ++d) {
      m.out.push_back(s.out[d]);
      std::vector<int64_t> t(static_cast<size_t>(s.out[d]));
      for (int64_t j = 0; j < s.out[d]; ++j)
        t[size_t(j)] = axes[d].outside[size_t(j)] ? kc::kFill : axes[d].idx[size_t(j)] * st[d];
      m.tab.push_back(std::move(t));
    }
    uint64_t fill = 0;
    store_scalar(info.input(0).dtype, s.extrapolation, &fill);
    return std::make_unique<ResizeNearestKernel>(std::move(m), es, fill);
  }
  require_dtype(info, 0, DType::f32);
  return std::make_unique<ResizeKernel>(std::move(axes), s.extrapolation, ref);
}

}  // namespace

void register_resize(KernelRegistry& r) {
  r.add("", "Resize", make_resize);
  r.add("", "Upsample", make_resize);
}

}  // namespace octet::ops
