// Attribute and constant-input parsing of the data-movement and spatial ops (Slice, Split, Pad, Expand, Tile,
// TopK, Resize/Upsample, ConvTranspose), shared by shape inference (graph/shape_inference_data.cpp) and the kernel
// factories (engine/ops/*), so both read an op's parameters the same way, for every opset form.
//
// Operands that ONNX passes as inputs from some opset on (Slice's starts/ends from 10, Pad's pads from 11, Resize's
// scales/sizes, Split's split from 13, TopK's K from 10) must be constants by the time these run (initializers,
// folded shape subgraphs, or graph inputs frozen by the session): Unsupported otherwise.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet {

/// The integer values of constant input i of node id (int32/int64); Unsupported when computed at run time,
/// Error for another dtype. `role` names the operand in messages.
std::vector<int64_t> const_input_ints(const Graph& g, int id, int i, const char* role);
/// The float values of constant input i (float32/float64/float16 not supported: Unsupported).
std::vector<float> const_input_floats(const Graph& g, int id, int i, const char* role);
/// True when node id has input i (present, not the empty name).
bool has_input(const Graph& g, int id, int i);

/// One dim of a Slice: output element j reads input index start + j * step, for j < len.
struct SliceDim {
  int64_t start = 0, step = 1, len = 0;
};
/// Every dim of Slice's output for input shape x (untouched dims: start 0, step 1, len x[d]). Opset 1-9 read the
/// starts/ends/axes attributes, 10+ the inputs starts, ends, [axes], [steps]. Clamping (numpy rules): negative
/// starts/ends count from the end; with step > 0 both clamp to [0, dim], with step < 0 start to [0, dim - 1] and end
/// to [-1, dim - 1]; len = max(0, ceil((end - start) / step)).
std::vector<SliceDim> slice_dims(const Graph& g, int id, const Shape& x);

/// Split: the normalised axis and the size of each output part (attribute `split` before opset 13, input from
/// 13; equal parts when absent, which must divide the axis).
struct SplitSpec {
  int64_t axis = 0;
  std::vector<int64_t> sizes;
};
SplitSpec split_spec(const Graph& g, int id, const Shape& x);

/// Pad: per-dim begin/end (may be negative: crop), mode constant | reflect | edge, and the constant value
/// (attribute `value` before opset 11, optional scalar input 2 from 11; `value_const` false when that input is not
/// a constant, so the kernel reads it at run time).
struct PadSpec {
  std::vector<int64_t> begin, end;
  std::string mode = "constant";
  double value = 0;
  bool value_const = true;
};
PadSpec pad_spec(const Graph& g, int id, const Shape& x);

/// Expand: numpy broadcast of x's shape with the constant `shape` input (either side may hold the 1).
Shape expand_shape(const Graph& g, int id, const Shape& x);
/// Tile: the constant `repeats` input, one non-negative count per dim of x.
std::vector<int64_t> tile_repeats(const Graph& g, int id, const Shape& x);
/// TopK: the axis (normalised) and k (attribute before opset 10, a 1-element input from 10), checked <= dim.
struct TopKSpec {
  int64_t axis = 0, k = 0;
  bool largest = true, sorted = true;
};
TopKSpec topk_spec(const Graph& g, int id, const Shape& x);

/// Resize (opset 10, 11, 13) and Upsample (7, 9), every parameter resolved:
///   out[d] = sizes[d] when sizes is given, else floor(x[d] * scales[d]);
///   scale[d] = the given scales[d], or out[d] / x[d] when sizes is given (the transform uses this value).
/// Opset 10 Resize and Upsample are coordinate mode asymmetric with nearest_mode floor.
struct ResizeSpec {
  enum class Mode { nearest, linear, cubic };
  enum class Coord {
    half_pixel,
    pytorch_half_pixel,
    align_corners,
    asymmetric,
    tf_half_pixel_for_nearest,
    tf_crop_and_resize
  };
  enum class Nearest { round_prefer_floor, round_prefer_ceil, floor, ceil };
  Mode mode = Mode::nearest;
  Coord coord = Coord::half_pixel;
  Nearest nearest = Nearest::round_prefer_floor;
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation = 0;
  std::vector<double> scales;  // per dim
  std::vector<float> roi;      // 2 * rank (starts, ends), tf_crop_and_resize only; empty otherwise
  Shape out;
};
ResizeSpec resize_spec(const Graph& g, int id, const Shape& x);

/// ConvTranspose geometry of input x [N, C, spatial...] and weight w [C, M/group, k...]:
///   out[i] = stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end
/// with pads from `pads`, or derived from `output_shape` / auto_pad SAME_* (total = that formula without pads
/// minus the wanted size; SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the begin).
struct ConvTransposeGeometry {
  int spatial = 0;
  int64_t group = 1, out_channels = 0;
  std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end, output_padding, out;
};
ConvTransposeGeometry conv_transpose_geometry(const Graph& g, int id, const Shape& x, const Shape& w);

}  // namespace octet
