#include "graph/op_attrs.h"

#include <algorithm>

namespace octet {

namespace {

std::string ints_str(const std::vector<int64_t>& v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) r += ',';
    r += std::to_string(v[i]);
  }
  return r + "]";
}

// Reads an ints attribute of exactly `n` entries, `def` filled when absent.
std::vector<int64_t> ints_of_size(const Graph& g, int id, const char* key, size_t n, int64_t def) {
  const Node& node = g.nodes[id];
  if (!node.has_attr(key)) return std::vector<int64_t>(n, def);
  std::vector<int64_t> v = node.attr_ints(key);
  if (v.size() != n)
    g.fail(id, std::string("attribute '") + key + "' has " + std::to_string(v.size()) + " values, expected " +
                   std::to_string(n) + " (one per spatial dimension)");
  return v;
}

// Floor division for a possibly negative numerator (the window may not fit at all).
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

WindowGeometry window_geometry(const Graph& g, int id, const Shape& x, const Shape* w) {
  const Node& node = g.nodes[id];
  if (x.size() < 3)
    g.fail(id, "input has shape " + shape_str(x) + ", expected N x C x spatial dims (rank 3 or more)");
  WindowGeometry geo;
  geo.spatial = int(x.size()) - 2;
  const size_t sp = size_t(geo.spatial);

  // kernel_shape: attribute, else (Conv) the weight's spatial dims.
  if (node.has_attr("kernel_shape")) {
    geo.kernel = ints_of_size(g, id, "kernel_shape", sp, 1);
  } else if (w) {
    if (w->size() != x.size())
      g.fail(id, "weight has shape " + shape_str(*w) + ", expected rank " + std::to_string(x.size()));
    geo.kernel.assign(w->begin() + 2, w->end());
  } else {
    g.fail(id, "attribute 'kernel_shape' is required");
  }
  if (w && w->size() == x.size() && !std::equal(geo.kernel.begin(), geo.kernel.end(), w->begin() + 2))
    g.fail(id, "kernel_shape " + ints_str(geo.kernel) + " does not match the weight shape " + shape_str(*w));
  geo.strides = ints_of_size(g, id, "strides", sp, 1);
  geo.dilations = ints_of_size(g, id, "dilations", sp, 1);
  for (size_t i = 0; i < sp; ++i) {
    if (geo.kernel[i] < 1) g.fail(id, "kernel_shape " + ints_str(geo.kernel) + " must be positive");
    if (geo.strides[i] < 1) g.fail(id, "strides " + ints_str(geo.strides) + " must be positive");
    if (geo.dilations[i] < 1) g.fail(id, "dilations " + ints_str(geo.dilations) + " must be positive");
  }
  geo.group = node.attr_i("group", 1);
  if (geo.group < 1) g.fail(id, "group " + std::to_string(geo.group) + " must be positive");
  geo.ceil_mode = node.attr_i("ceil_mode", 0) != 0;
  geo.count_include_pad = node.attr_i("count_include_pad", 0) != 0;

  const std::string auto_pad = node.attr_s("auto_pad", "NOTSET");
  geo.pads_begin.assign(sp, 0);
  geo.pads_end.assign(sp, 0);
  geo.out.assign(sp, 0);
  for (size_t i = 0; i < sp; ++i) {
    const int64_t in = x[i + 2];
    // The window's extent with dilation d: dk = (k - 1) * d + 1.
    const int64_t dk = (geo.kernel[i] - 1) * geo.dilations[i] + 1;
    const int64_t s = geo.strides[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // out = ceil(in / s); the padding needed so the last window ends at the input's end:
      // total = max(0, (out - 1) * s + dk - in), the odd pixel going to the end (UPPER) or the begin (LOWER).
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      const int64_t small = total / 2, big = total - small;
      geo.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : big;
      geo.pads_end[i] = auto_pad == "SAME_UPPER" ? big : small;
    } else if (auto_pad == "VALID") {
      // no padding
    } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
      if (node.has_attr("pads")) {
        std::vector<int64_t> pads = node.attr_ints("pads");
        if (pads.size() != 2 * sp)
          g.fail(id, "attribute 'pads' has " + std::to_string(pads.size()) + " values, expected " +
                         std::to_string(2 * sp) + " (begin and end per spatial dimension)");
        geo.pads_begin[i] = pads[i];
        geo.pads_end[i] = pads[i + sp];
        if (pads[i] < 0 || pads[i + sp] < 0) g.fail(id, "pads " + ints_str(pads) + " must not be negative");
      }
    } else {
      g.fail(id, "auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }

    // out = floor((in + pb + pe - dk) / s) + 1, or with ceil_mode rounded up - but a window that would
    // start inside the end padding (start (out - 1) * s >= in + pb) is dropped, so every window sees at
    // least one input pixel or begin padding (the rule of PyTorch and ONNX's reference pooling).
    const int64_t span = in + geo.pads_begin[i] + geo.pads_end[i] - dk;
    // auto_pad fixes the output size by its own formula, so ceil_mode only applies to explicit pads.
    const bool explicit_pads = auto_pad == "NOTSET" || auto_pad.empty();
    int64_t out = floor_div(span, s) + 1;
    if (geo.ceil_mode && explicit_pads) {
      out = -floor_div(-span, s) + 1;  // ceil(span / s) + 1
      if ((out - 1) * s >= in + geo.pads_begin[i]) out -= 1;
    }
    if (out < 1)
      g.fail(id, "the window (kernel " + ints_str(geo.kernel) + ", dilations " + ints_str(geo.dilations) +
                     ") does not fit the padded input " + shape_str(x) + ": output would be empty");
    geo.out[i] = out;
  }
  return geo;
}

int64_t normalize_axis(const Graph& g, int id, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    g.fail(id, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank) + " (valid: " +
                   std::to_string(-rank) + ".." + std::to_string(rank - 1) + ")");
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const Graph& g, int id, const Shape& a, const Shape& b) {
  // Numpy rule: align the trailing dims; each pair must be equal or contain a 1 (which stretches).
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      g.fail(id, "shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast (dimension " +
                     std::to_string(i) + ": " + std::to_string(da) + " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace octet

namespace octet {

std::vector<int64_t> reduce_axes(const Graph& g, int id, int64_t rank, bool* noop) {
  const Node& n = g.nodes[id];
  std::vector<int64_t> axes;
  // ReduceSum takes axes as an input from opset 13, the other Reduce* ops from opset 18.
  const int64_t since = n.op_type == "ReduceSum" ? 13 : 18;
  if (g.opset(n.domain) >= since) {
    if (n.has_attr("axes"))
      g.fail(id, n.op_type + " from opset " + std::to_string(since) + " takes axes as input 1, not as an attribute");
    if (n.inputs.size() > 1 && n.inputs[1] >= 0) {
      const Value& v = g.values[n.inputs[1]];
      if (!v.constant) throw Unsupported(g.where(id) + ": the 'axes' input (" + v.name + ") must be a constant");
      const Tensor& t = *v.constant;
      if (t.dtype() != DType::i64)
        g.fail(id, "axes input '" + v.name + "' has type " + dtype_name(t.dtype()) + ", expected int64");
      axes.assign(t.as<int64_t>(), t.as<int64_t>() + t.numel());
    }
  } else {
    axes = n.attr_ints("axes");
  }
  *noop = false;
  if (axes.empty()) {
    if (n.attr_i("noop_with_empty_axes", 0) != 0) {
      *noop = true;
      return {};
    }
    axes.resize(size_t(rank));
    for (int64_t i = 0; i < rank; ++i) axes[size_t(i)] = i;
    return axes;
  }
  std::vector<char> seen(size_t(rank), 0);
  for (int64_t& a : axes) {
    a = normalize_axis(g, id, a, rank);
    if (seen[size_t(a)]++) g.fail(id, "axis " + std::to_string(a) + " appears twice in axes");
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

bool dropout_ratio_is_zero(const Graph& g, const Node& n) {
  if (n.inputs.size() < 2 || n.inputs[1] < 0) return false;
  const Tensor* r = g.values[size_t(n.inputs[1])].constant.get();
  return r && !r->empty() && r->numel() == 1 && r->dtype() == DType::f32 && *r->as<float>() == 0.f;
}

}  // namespace octet
