// Numpy broadcasting over any number of operands, for the element-wise ops of any dtype (engine/ops/
// eltwise_math.cpp, compare_logic.cpp, cast.cpp).
//
// Each operand is aligned to the output's rank (leading 1s) and given element strides, 0 along the dims it
// broadcasts. Adjacent output dims are merged when, for every operand, stride[outer] == stride[inner] *
// size[inner] (the pair then walks memory like one dim): [N, C, H, W] with a [C, 1, 1] operand becomes [N, C, HW]
// with that operand's strides [0, 1, 0]. The innermost merged dim ("row") has a stride in {0, 1} per operand; the
// outer dims are walked with an odometer. Rank-changing (a [W] operand against [N, C, H, W]) and zero-size
// shapes (rows = 0) need nothing special.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/tensor.h"

namespace octet::ops {

struct BroadcastN {
  int operands = 0;
  std::vector<int64_t> dims;                  // merged outer dims (the row excluded)
  std::vector<std::vector<int64_t>> strides;  // [operand][outer dim]
  std::vector<int64_t> row_stride;            // [operand], 0 or 1
  int64_t row = 1, rows = 1;                  // row length, number of rows (product of dims)

  static BroadcastN make(const std::vector<Shape>& in, const Shape& out) {
    BroadcastN p;
    p.operands = int(in.size());
    const size_t r = out.size();
    std::vector<std::vector<int64_t>> full(in.size(), std::vector<int64_t>(r, 0));
    for (size_t k = 0; k < in.size(); ++k) {
      int64_t acc = 1;
      for (size_t j = 0; j < in[k].size(); ++j) {
        const size_t i = in[k].size() - 1 - j, o = r - 1 - j;
        full[k][o] = in[k][i] == 1 ? 0 : acc;
        acc *= in[k][i];
      }
    }
    std::vector<int64_t> d;
    std::vector<std::vector<int64_t>> st(in.size());
    for (size_t i = 0; i < r; ++i) {
      if (out[i] == 1) continue;
      bool merge = !d.empty();
      for (size_t k = 0; merge && k < in.size(); ++k) merge = st[k].back() == full[k][i] * out[i];
      if (merge) {
        d.back() *= out[i];
        for (size_t k = 0; k < in.size(); ++k) st[k].back() = full[k][i];
      } else {
        d.push_back(out[i]);
        for (size_t k = 0; k < in.size(); ++k) st[k].push_back(full[k][i]);
      }
    }
    p.row_stride.assign(in.size(), 0);
    if (!d.empty()) {
      p.row = d.back();
      d.pop_back();
      for (size_t k = 0; k < in.size(); ++k) {
        p.row_stride[k] = st[k].back();
        st[k].pop_back();
      }
    }
    if (num_elements(out) == 0) p.row = 0;
    p.dims = d;
    p.strides = st;
    for (int64_t v : d) p.rows *= v;
    return p;
  }

  /// Calls fn(row_index, offsets) for rows [begin, end); offsets[k] is operand k's element offset of the row's
  /// first element, the output's is row_index * row.
  template <class Fn>
  void for_rows(int64_t begin, int64_t end, Fn fn) const {
    const size_t nd = dims.size();
    std::vector<int64_t> idx(nd, 0), off(size_t(operands), 0);
    int64_t rem = begin;
    for (size_t i = nd; i-- > 0;) {
      idx[i] = rem % dims[i];
      rem /= dims[i];
      for (int k = 0; k < operands; ++k) off[k] += idx[i] * strides[k][i];
    }
    for (int64_t r = begin; r < end; ++r) {
      fn(r, off.data());
      for (size_t i = nd; i-- > 0;) {  // odometer step
        for (int k = 0; k < operands; ++k) off[k] += strides[k][i];
        if (++idx[i] < dims[i]) break;
        for (int k = 0; k < operands; ++k) off[k] -= strides[k][i] * dims[i];
        idx[i] = 0;
      }
    }
  }
};

}  // namespace octet::ops
