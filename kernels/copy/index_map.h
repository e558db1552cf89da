// The copy behind the data-movement ops whose every output element is one input element (or a fill value):
// Slice, Pad (constant / reflect / edge), Expand, Tile, DepthToSpace, SpaceToDepth and nearest Resize/Upsample.
//
// Each output dim d has a table tab[d][i] of input offsets (in elements) and the source of an output element is
//   src(i_0, .., i_{r-1}) = sum_d tab[d][i_d]
// which holds whenever the input index is a separable function of the output index (a slice start + i * step,
// a broadcast 0, a reflected or clamped index, i % dim for Tile, the split of H * b + i into a row and a channel
// part for DepthToSpace). An entry kFill means "outside the input": the element is the fill value (constant
// padding, Resize's extrapolation_value).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/parallel.h"

namespace octet::kernels::copy {

inline constexpr int64_t kFill = -1;

struct IndexMap {
  std::vector<int64_t> out;               // output dims
  std::vector<std::vector<int64_t>> tab;  // tab[d].size() == out[d]; entries >= 0 or kFill
};

/// Merges adjacent dims whose tables compose into one contiguous run (e.g. a Pad that touches only H and W of a
/// plain NCHW tensor is rows of W; a Slice of the last dim of a contiguous block stays one memcpy per row), and
/// drops dims of size 1. Returns an equivalent map.
IndexMap simplify(const IndexMap& m);

/// y = the map applied to x, elements of `es` bytes (1, 2, 4 or 8); `fill` points to one element (may be null when
/// the map has no kFill entry). Rows whose source equals the previous row's are copied from the previous output
/// row (nearest upsampling, Expand and Tile along outer dims). Splits rows across `par`.
void index_map_copy(const IndexMap& m, const void* x, void* y, size_t es, const void* fill, Parallel* par);

/// The same, one element at a time (the reference the tests compare index_map_copy against).
void index_map_copy_ref(const IndexMap& m, const void* x, void* y, size_t es, const void* fill);

}  // namespace octet::kernels::copy
