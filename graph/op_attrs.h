// Attribute parsing shared by shape inference and kernels, so both read an op's attributes the same way.
#pragma once

#include <vector>

#include "graph/ir.h"

namespace octet {

/// The sliding-window geometry of Conv, ConvTranspose-free pooling (MaxPool, AveragePool) over the spatial dims
/// of an NC<spatial> input. auto_pad is resolved into explicit pads; ceil_mode applied to `out`.
struct WindowGeometry {
  int spatial = 0;                    // number of spatial dims (1 or 2; 3 where supported)
  std::vector<int64_t> kernel;        // per spatial dim
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;
  std::vector<int64_t> out;           // output spatial sizes
  int64_t group = 1;                  // Conv only
  bool ceil_mode = false;             // pools
  bool count_include_pad = false;     // AveragePool
};

/// Reads Conv/MaxPool/AveragePool attributes of node `id` for input shape `x` (N, C, spatial...). For Conv,
/// `w` is the weight shape (kernel_shape defaults to it). Throws Error via g.fail on inconsistent attributes.
WindowGeometry window_geometry(const Graph& g, int id, const Shape& x, const Shape* w = nullptr);

/// Dropout's ratio (input 1, opset 12+) is a constant 0: training mode then keeps every element and scales by
/// 1 / (1 - 0), so the node is the identity whatever training_mode says (torchvision's Swin exports
/// F.dropout(p=0.0) in training mode).
bool dropout_ratio_is_zero(const Graph& g, const Node& n);

/// Normalises a possibly negative axis for a tensor of `rank`; throws Error via g.fail when out of range.
int64_t normalize_axis(const Graph& g, int id, int64_t axis, int64_t rank);

/// Numpy-style broadcast of two shapes; throws Error via g.fail when they do not broadcast.
Shape broadcast_shapes(const Graph& g, int id, const Shape& a, const Shape& b);

}  // namespace octet

namespace octet {

/// The axes a Reduce* node reduces, for an input of `rank`: normalised, sorted, each once. They come from the
/// `axes` attribute, or - ReduceSum from opset 13, the others from 18 - from the optional constant input 1
/// (Unsupported when it is computed at run time). No axes reduce every dim, unless noop_with_empty_axes = 1: then
/// *noop is set and the node is an identity. Throws Error via g.fail on an out-of-range or repeated axis.
std::vector<int64_t> reduce_axes(const Graph& g, int id, int64_t rank, bool* noop);

}  // namespace octet
