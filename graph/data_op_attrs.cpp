#include "graph/data_op_attrs.h"

#include <algorithm>
#include <cmath>

#include "graph/op_attrs.h"

namespace octet {

namespace {

std::string ints_str(const std::vector<int64_t>& v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + std::to_string(v[i]);
  return r + "]";
}

[[noreturn]] void unsupported(const Graph& g, int id, const std::string& msg) {
  throw Unsupported(g.where(id) + ": " + msg);
}

const Tensor& const_input(const Graph& g, int id, int i, const char* role) {
  if (!has_input(g, id, i)) g.fail(id, std::string("the '") + role + "' input (" + std::to_string(i) + ") is required");
  const Value& v = g.values[g.nodes[id].inputs[i]];
  if (!v.constant || (v.constant->numel() > 0 && v.constant->empty()))
    unsupported(g, id, std::string("the '") + role + "' input ('" + v.name + "') must be a constant");
  return *v.constant;
}

// A scalar or element of any numeric tensor as double.
double element_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32:
      return t.as<float>()[i];
    case DType::f64:
      return t.as<double>()[i];
    case DType::i64:
      return double(t.as<int64_t>()[i]);
    case DType::i32:
      return t.as<int32_t>()[i];
    case DType::i16:
      return t.as<int16_t>()[i];
    case DType::i8:
      return t.as<int8_t>()[i];
    case DType::u8:
    case DType::boolean:
      return t.as<uint8_t>()[i];
    case DType::u16:
      return t.as<uint16_t>()[i];
    case DType::u32:
      return t.as<uint32_t>()[i];
    case DType::u64:
      return double(t.as<uint64_t>()[i]);
    default:
      return std::nan("");
  }
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Reads an ints attribute with exactly n values (`def` repeated when absent).
std::vector<int64_t> spatial_ints(const Graph& g, int id, const char* key, size_t n, int64_t def) {
  const Node& node = g.nodes[id];
  if (!node.has_attr(key)) return std::vector<int64_t>(n, def);
  std::vector<int64_t> v = node.attr_ints(key);
  if (v.size() != n)
    g.fail(id, std::string("attribute '") + key + "' has " + std::to_string(v.size()) + " values, expected " +
                   std::to_string(n));
  return v;
}

}  // namespace

bool has_input(const Graph& g, int id, int i) {
  const Node& n = g.nodes[id];
  return i < int(n.inputs.size()) && n.inputs[i] >= 0;
}

std::vector<int64_t> const_input_ints(const Graph& g, int id, int i, const char* role) {
  const Tensor& t = const_input(g, id, i, role);
  if (t.dtype() == DType::i64) return std::vector<int64_t>(t.as<int64_t>(), t.as<int64_t>() + t.numel());
  if (t.dtype() == DType::i32) return std::vector<int64_t>(t.as<int32_t>(), t.as<int32_t>() + t.numel());
  g.fail(id, std::string("the '") + role + "' input has type " + dtype_name(t.dtype()) + ", expected int64");
}

std::vector<float> const_input_floats(const Graph& g, int id, int i, const char* role) {
  const Tensor& t = const_input(g, id, i, role);
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64)
    unsupported(g, id,
                std::string("the '") + role + "' input has type " + dtype_name(t.dtype()) +
                    ", only float32 and float64 are supported");
  std::vector<float> r(size_t(t.numel()));
  for (int64_t k = 0; k < t.numel(); ++k) r[size_t(k)] = float(element_as_double(t, k));
  return r;
}

// ---- Slice ----------------------------------------------------------------------------------------------------

std::vector<SliceDim> slice_dims(const Graph& g, int id, const Shape& x) {
  const Node& n = g.nodes[id];
  const int64_t r = int64_t(x.size());
  std::vector<int64_t> starts, ends, axes, steps;
  const bool attrs = g.opset(n.domain) < 10;
  if (attrs) {
    if (!n.has_attr("starts") || !n.has_attr("ends")) g.fail(id, "attributes 'starts' and 'ends' are required");
    starts = n.attr_ints("starts");
    ends = n.attr_ints("ends");
    axes = n.attr_ints("axes");
  } else {
    starts = const_input_ints(g, id, 1, "starts");
    ends = const_input_ints(g, id, 2, "ends");
    if (has_input(g, id, 3)) axes = const_input_ints(g, id, 3, "axes");
    if (has_input(g, id, 4)) steps = const_input_ints(g, id, 4, "steps");
  }
  const bool default_axes = attrs ? !n.has_attr("axes") : !has_input(g, id, 3);
  if (default_axes)
    for (int64_t i = 0; i < int64_t(starts.size()); ++i) axes.push_back(i);
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    g.fail(id, "starts " + ints_str(starts) + ", ends " + ints_str(ends) + ", axes " + ints_str(axes) + " and steps " +
                   ints_str(steps) + " must have the same length");
  std::vector<SliceDim> dims(static_cast<size_t>(r));
  for (int64_t d = 0; d < r; ++d) dims[size_t(d)] = {0, 1, x[size_t(d)]};
  std::vector<bool> seen(size_t(r), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = normalize_axis(g, id, axes[i], r);
    if (seen[size_t(a)]) g.fail(id, "axes " + ints_str(axes) + " repeat axis " + std::to_string(a));
    seen[size_t(a)] = true;
    const int64_t dim = x[size_t(a)], step = steps[i];
    if (step == 0) g.fail(id, "steps " + ints_str(steps) + " must not be 0");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    SliceDim& sd = dims[size_t(a)];
    sd.step = step;
    if (dim == 0) {
      sd.start = 0, sd.len = 0;
    } else if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim), e = std::clamp<int64_t>(e, 0, dim);
      sd.start = s, sd.len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1), e = std::clamp<int64_t>(e, -1, dim - 1);
      sd.start = s, sd.len = s > e ? (s - e - step - 1) / -step : 0;
    }
    if (sd.len == 0) sd.start = 0;
  }
  return dims;
}

// ---- Split ----------------------------------------------------------------------------------------------------

SplitSpec split_spec(const Graph& g, int id, const Shape& x) {
  const Node& n = g.nodes[id];
  if (x.empty()) g.fail(id, "input is a scalar, expected rank 1 or more");
  SplitSpec s;
  s.axis = normalize_axis(g, id, n.attr_i("axis", 0), int64_t(x.size()));
  const int64_t dim = x[size_t(s.axis)], parts = int64_t(n.outputs.size());
  if (parts < 1) g.fail(id, "has no outputs");
  if (g.opset(n.domain) < 13) {
    s.sizes = n.attr_ints("split");
  } else if (has_input(g, id, 1)) {
    s.sizes = const_input_ints(g, id, 1, "split");
  }
  if (s.sizes.empty()) {
    if (dim % parts != 0)
      g.fail(id, "axis " + std::to_string(s.axis) + " of size " + std::to_string(dim) + " does not split into " +
                     std::to_string(parts) + " equal parts");
    s.sizes.assign(size_t(parts), dim / parts);
    return s;
  }
  int64_t sum = 0;
  for (int64_t v : s.sizes) {
    if (v < 0) g.fail(id, "split " + ints_str(s.sizes) + " has a negative size");
    sum += v;
  }
  if (int64_t(s.sizes.size()) != parts)
    g.fail(id, "split " + ints_str(s.sizes) + " has " + std::to_string(s.sizes.size()) + " parts, the node " +
                   std::to_string(parts) + " outputs");
  if (sum != dim)
    g.fail(id, "split " + ints_str(s.sizes) + " sums to " + std::to_string(sum) + ", axis " + std::to_string(s.axis) +
                   " has size " + std::to_string(dim));
  return s;
}

// ---- Pad ------------------------------------------------------------------------------------------------------

PadSpec pad_spec(const Graph& g, int id, const Shape& x) {
  const Node& n = g.nodes[id];
  const size_t r = x.size();
  PadSpec p;
  std::vector<int64_t> pads;
  p.mode = n.attr_s("mode", "constant");
  if (g.opset(n.domain) < 11) {
    if (!n.has_attr("pads")) g.fail(id, "attribute 'pads' is required");
    pads = n.attr_ints("pads");
    p.value = n.attr_f("value", 0.f);
  } else {
    pads = const_input_ints(g, id, 1, "pads");
    if (has_input(g, id, 2)) {
      const Value& v = g.values[n.inputs[2]];
      if (v.has_shape && v.shape_known() && num_elements(v.shape()) != 1)
        g.fail(id, "constant_value '" + v.name + "' has shape " + shape_str(v.shape()) + ", expected a scalar");
      if (v.constant && !v.constant->empty())
        p.value = element_as_double(*v.constant, 0);
      else
        p.value_const = false;
    }
  }
  if (p.mode != "constant" && p.mode != "reflect" && p.mode != "edge")
    g.fail(id, "mode '" + p.mode + "' is not one of constant, reflect, edge");
  if (pads.size() != 2 * r)
    g.fail(id, "pads " + ints_str(pads) + " has " + std::to_string(pads.size()) + " values, expected " +
                   std::to_string(2 * r) + " (begin and end per dimension)");
  p.begin.assign(pads.begin(), pads.begin() + long(r));
  p.end.assign(pads.begin() + long(r), pads.end());
  for (size_t d = 0; d < r; ++d) {
    const int64_t out = x[d] + p.begin[d] + p.end[d];
    if (out < 0) g.fail(id, "pads " + ints_str(pads) + " crop dimension " + std::to_string(d) + " below zero");
    if (p.mode != "constant" && x[d] + std::min<int64_t>(0, p.begin[d]) + std::min<int64_t>(0, p.end[d]) <= 0 &&
        out > 0)
      g.fail(id, "mode " + p.mode + " cannot pad dimension " + std::to_string(d) + ", which has no elements left");
  }
  return p;
}

// ---- Expand, Tile, TopK ---------------------------------------------------------------------------------------

Shape expand_shape(const Graph& g, int id, const Shape& x) {
  const std::vector<int64_t> s = const_input_ints(g, id, 1, "shape");
  for (int64_t v : s)
    if (v < 0) g.fail(id, "shape " + ints_str(s) + " has a negative dimension");
  return broadcast_shapes(g, id, x, Shape(s.begin(), s.end()));
}

std::vector<int64_t> tile_repeats(const Graph& g, int id, const Shape& x) {
  const std::vector<int64_t> r = const_input_ints(g, id, 1, "repeats");
  if (r.size() != x.size())
    g.fail(id, "repeats " + ints_str(r) + " has " + std::to_string(r.size()) + " values, the input has rank " +
                   std::to_string(x.size()));
  for (int64_t v : r)
    if (v < 0) g.fail(id, "repeats " + ints_str(r) + " has a negative count");
  return r;
}

TopKSpec topk_spec(const Graph& g, int id, const Shape& x) {
  const Node& n = g.nodes[id];
  TopKSpec s;
  if (x.empty()) g.fail(id, "input is a scalar, expected rank 1 or more");
  s.axis = normalize_axis(g, id, n.attr_i("axis", -1), int64_t(x.size()));
  if (g.opset(n.domain) < 10) {
    if (!n.has_attr("k")) g.fail(id, "attribute 'k' is required");
    s.k = n.attr_i("k", 0);
  } else {
    const std::vector<int64_t> k = const_input_ints(g, id, 1, "K");
    if (k.size() != 1) g.fail(id, "K has " + std::to_string(k.size()) + " values, expected 1");
    s.k = k[0];
  }
  if (g.opset(n.domain) >= 11) {
    s.largest = n.attr_i("largest", 1) != 0;
    s.sorted = n.attr_i("sorted", 1) != 0;
  }
  if (s.k < 0 || s.k > x[size_t(s.axis)])
    g.fail(id, "k = " + std::to_string(s.k) + " is out of range for axis " + std::to_string(s.axis) + " of size " +
                   std::to_string(x[size_t(s.axis)]));
  return s;
}

// ---- Resize / Upsample ----------------------------------------------------------------------------------------

namespace {

ResizeSpec::Mode resize_mode(const Graph& g, int id, const std::string& m, bool cubic_ok) {
  if (m == "nearest") return ResizeSpec::Mode::nearest;
  if (m == "linear" || m == "bilinear") return ResizeSpec::Mode::linear;
  if (m == "cubic" && cubic_ok) return ResizeSpec::Mode::cubic;
  g.fail(id, "mode '" + m + "' is not one of nearest, linear" + (cubic_ok ? ", cubic" : ""));
}

ResizeSpec::Coord resize_coord(const Graph& g, int id, const std::string& m) {
  using C = ResizeSpec::Coord;
  static const std::pair<const char*, C> kModes[] = {{"half_pixel", C::half_pixel},
                                                     {"pytorch_half_pixel", C::pytorch_half_pixel},
                                                     {"align_corners", C::align_corners},
                                                     {"asymmetric", C::asymmetric},
                                                     {"tf_half_pixel_for_nn", C::tf_half_pixel_for_nearest},
                                                     {"tf_crop_and_resize", C::tf_crop_and_resize}};
  for (auto& [name, c] : kModes)
    if (m == name) return c;
  g.fail(id, "coordinate_transformation_mode '" + m +
                 "' is not one of half_pixel, pytorch_half_pixel, "
                 "align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize");
}

ResizeSpec::Nearest resize_nearest(const Graph& g, int id, const std::string& m) {
  using N = ResizeSpec::Nearest;
  if (m == "round_prefer_floor") return N::round_prefer_floor;
  if (m == "round_prefer_ceil") return N::round_prefer_ceil;
  if (m == "floor") return N::floor;
  if (m == "ceil") return N::ceil;
  g.fail(id, "nearest_mode '" + m + "' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil");
}

}  // namespace

ResizeSpec resize_spec(const Graph& g, int id, const Shape& x) {
  const Node& n = g.nodes[id];
  const int64_t opset = g.opset(n.domain);
  const size_t r = x.size();
  ResizeSpec s;
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  const bool legacy = n.op_type == "Upsample" || opset < 11;  // Upsample 7/9, Resize 10
  s.mode = resize_mode(g, id, n.attr_s("mode", "nearest"), !legacy);
  if (legacy) {
    s.coord = ResizeSpec::Coord::asymmetric;
    s.nearest = ResizeSpec::Nearest::floor;
    if (n.op_type == "Upsample" && opset < 9) {
      if (!n.has_attr("scales")) g.fail(id, "attribute 'scales' is required");
      scales = n.attr_floats("scales");
    } else {
      scales = const_input_floats(g, id, 1, "scales");
    }
  } else {
    s.coord = resize_coord(g, id, n.attr_s("coordinate_transformation_mode", "half_pixel"));
    s.nearest = resize_nearest(g, id, n.attr_s("nearest_mode", "round_prefer_floor"));
    s.cubic_a = n.attr_f("cubic_coeff_a", -0.75f);
    s.exclude_outside = n.attr_i("exclude_outside", 0) != 0;
    s.extrapolation = n.attr_f("extrapolation_value", 0.f);
    if (has_input(g, id, 2)) scales = const_input_floats(g, id, 2, "scales");
    if (has_input(g, id, 3)) sizes = const_input_ints(g, id, 3, "sizes");
    if (scales.empty() == sizes.empty()) g.fail(id, "exactly one of 'scales' and 'sizes' must be given (non-empty)");
    if (s.coord == ResizeSpec::Coord::tf_crop_and_resize) {
      s.roi = const_input_floats(g, id, 1, "roi");
      if (s.roi.size() != 2 * r)
        g.fail(id, "roi has " + std::to_string(s.roi.size()) + " values, expected " + std::to_string(2 * r));
    }
  }
  s.scales.resize(r);
  s.out.resize(r);
  if (!sizes.empty()) {
    if (sizes.size() != r)
      g.fail(id, "sizes " + ints_str(sizes) + " has " + std::to_string(sizes.size()) + " values, the input rank " +
                     std::to_string(r));
    for (size_t d = 0; d < r; ++d) {
      if (sizes[d] < 0) g.fail(id, "sizes " + ints_str(sizes) + " has a negative size");
      s.out[d] = sizes[d];
      s.scales[d] = x[d] ? double(sizes[d]) / double(x[d]) : 1.0;
    }
    return s;
  }
  if (scales.size() != r)
    g.fail(id, "scales has " + std::to_string(scales.size()) + " values, the input rank is " + std::to_string(r));
  for (size_t d = 0; d < r; ++d) {
    if (!(scales[d] > 0)) g.fail(id, "scales must be positive, got " + std::to_string(scales[d]));
    s.scales[d] = scales[d];
    // In float, as ONNX Runtime does: torch exports size (13, 29) of a 6x7 map as scales 13/6 and 29/7, and
    // 7 * float(29/7) rounds to 29 in float (28.9999995 in double would floor to 28).
    s.out[d] = int64_t(std::floor(float(x[d]) * scales[d]));
  }
  return s;
}

// ---- ConvTranspose --------------------------------------------------------------------------------------------

ConvTransposeGeometry conv_transpose_geometry(const Graph& g, int id, const Shape& x, const Shape& w) {
  const Node& n = g.nodes[id];
  if (x.size() < 3) g.fail(id, "input has shape " + shape_str(x) + ", expected N x C x spatial dims");
  if (w.size() != x.size())
    g.fail(id, "weight has shape " + shape_str(w) + ", expected rank " + std::to_string(x.size()) +
                   " (C x M/group x kernel)");
  ConvTransposeGeometry geo;
  geo.spatial = int(x.size()) - 2;
  const size_t sp = size_t(geo.spatial);
  geo.group = n.attr_i("group", 1);
  if (geo.group < 1) g.fail(id, "group must be positive");
  if (w[0] != x[1])
    g.fail(id, "weight has shape " + shape_str(w) + ": its first dim must equal the input's " + std::to_string(x[1]) +
                   " channels");
  if (x[1] % geo.group) g.fail(id, "group " + std::to_string(geo.group) + " does not divide the input channels");
  geo.out_channels = w[1] * geo.group;
  geo.kernel = n.has_attr("kernel_shape") ? spatial_ints(g, id, "kernel_shape", sp, 1)
                                          : std::vector<int64_t>(w.begin() + 2, w.end());
  if (!std::equal(geo.kernel.begin(), geo.kernel.end(), w.begin() + 2))
    g.fail(id, "kernel_shape " + ints_str(geo.kernel) + " does not match the weight " + shape_str(w));
  geo.strides = spatial_ints(g, id, "strides", sp, 1);
  geo.dilations = spatial_ints(g, id, "dilations", sp, 1);
  geo.output_padding = spatial_ints(g, id, "output_padding", sp, 0);
  std::vector<int64_t> out_shape = n.attr_ints("output_shape");
  if (out_shape.size() == sp + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != sp)
    g.fail(id, "output_shape " + ints_str(out_shape) + " must have one value per spatial dimension");
  const std::string auto_pad = n.attr_s("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
    g.fail(id, "auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  std::vector<int64_t> pads =
      auto_pad == "NOTSET" ? spatial_ints(g, id, "pads", 2 * sp, 0) : std::vector<int64_t>(2 * sp, 0);
  geo.pads_begin.assign(pads.begin(), pads.begin() + long(sp));
  geo.pads_end.assign(pads.begin() + long(sp), pads.end());
  geo.out.resize(sp);
  for (size_t i = 0; i < sp; ++i) {
    if (geo.strides[i] < 1 || geo.dilations[i] < 1 || geo.kernel[i] < 1)
      g.fail(id, "kernel, strides and dilations must be positive");
    if (geo.output_padding[i] < 0) g.fail(id, "output_padding must not be negative");
    const int64_t full =
        geo.strides[i] * (x[i + 2] - 1) + geo.output_padding[i] + (geo.kernel[i] - 1) * geo.dilations[i] + 1;
    int64_t want = -1;
    if (!out_shape.empty())
      want = out_shape[i];
    else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")
      want = x[i + 2] * geo.strides[i];
    if (want >= 0) {
      // total = full - want; SAME_UPPER: begin = floor(total / 2), else begin = total - floor(total / 2).
      const int64_t total = full - want, half = floor_div(total, 2);
      geo.pads_begin[i] = auto_pad == "SAME_UPPER" ? half : total - half;
      geo.pads_end[i] = total - geo.pads_begin[i];
    }
    geo.out[i] = full - geo.pads_begin[i] - geo.pads_end[i];
    if (geo.out[i] < 1) g.fail(id, "the output would be empty along spatial dim " + std::to_string(i));
  }
  return geo;
}

}  // namespace octet
