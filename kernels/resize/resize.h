// Resize / Upsample of an N-D float tensor (ONNX Resize 10/11/13 semantics): per axis, each output index maps to
// a coordinate in the input, x_orig = transform(x_out), and reads a few input taps with weights:
//   nearest: 1 tap, round(x_orig) by nearest_mode;
//   linear:  2 taps floor(x_orig), +1 with weights (1 - r, r), r = x_orig - floor(x_orig);
//   cubic:   4 taps floor - 1 .. floor + 2 with Keys' weights for coefficient A (below).
// Taps outside [0, in) read the edge element, unless exclude_outside, which zeroes their weights and
// renormalises the rest. Under tf_crop_and_resize an x_orig outside [0, in - 1] gives extrapolation_value.
// The N-D result is the tensor product of the per-axis 1-D resamplings, so it can be computed axis by axis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/parallel.h"

namespace octet::kernels::resize {

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

struct Params {
  Mode mode = Mode::nearest;
  Coord coord = Coord::half_pixel;
  Nearest nearest = Nearest::round_prefer_floor;
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation = 0;
};

/// The 1-D resampling of one axis: output j reads input indices idx[j * taps + t] (in [0, in)) with weights
/// w[j * taps + t]; outside[j] = 1: the output is the extrapolation value instead.
struct Axis {
  int64_t in = 0, out = 0;
  int taps = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> outside;
  bool identity = false;  // out == in and output j is input j: the axis needs no pass
};

/// The input coordinate of output index xr along an axis of `in` elements; scale as given or out / in, out_len =
/// in * scale (not rounded); roi_start/end: tf_crop_and_resize's region, normalised.
double original_coord(Coord c, double xr, double scale, int64_t in, double out_len, double roi_start, double roi_end);

/// Builds an axis's taps and weights.
Axis make_axis(const Params& p, int64_t in, int64_t out, double scale, double roi_start = 0, double roi_end = 1);

/// The reference: every output element as the full tensor product of its taps over all axes, in double.
/// dims: the input shape (axes[d].in == dims[d]).
void resize_ref(const std::vector<Axis>& axes, float extrapolation, const float* x, float* y);

/// Floats of scratch resize_separable needs.
size_t resize_separable_floats(const std::vector<Axis>& axes);
/// The same result axis by axis (last axis first), skipping identity axes: a pass over axis d views the tensor as
/// [outer][in_d][inner] and writes [outer][out_d][inner], whole rows of `inner` at a time when inner > 1
/// (vectorised). Threads split each pass's output rows.
void resize_separable(const std::vector<Axis>& axes, float extrapolation, const float* x, float* y, float* scratch,
                      Parallel* par);

}  // namespace octet::kernels::resize
