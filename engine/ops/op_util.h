// Small helpers shared by the element-wise, shape and pooling op factories (engine/ops/eltwise.cpp,
// shape_ops.cpp, pool.cpp): argument checks that throw the right exception with the node named, and the
// "split a big loop across threads, keep a small one inline" rule.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/kernel.h"

namespace octet::ops {

/// Throws Unsupported("<file>: node '<name>' (<op>): <msg>"): a valid model that octet does not run.
[[noreturn]] inline void unsupported(const KernelInfo& info, const std::string& msg) {
  throw Unsupported(info.graph.where(info.node_id) + ": " + msg);
}

/// Input i must have dtype t (float32 unless stated): Unsupported otherwise, as ONNX allows other types.
inline void require_dtype(const KernelInfo& info, int i, DType t, const char* what = "input") {
  const Value& v = info.input(i);
  if (v.dtype != t)
    unsupported(info, std::string(what) + " '" + v.name + "' has type " + dtype_name(v.dtype) + ", only " +
                          dtype_name(t) + " is supported");
}

/// Input 0 (and output 0) must be in plain layout: for ops whose meaning depends on the memory order.
inline void require_plain(const KernelInfo& info) {
  for (int i = 0; i < info.num_inputs(); ++i)
    if (info.has_input(i) && info.input(i).layout != Layout::plain)
      unsupported(info, "input '" + info.input(i).name + "' is in " + layout_name(info.input(i).layout) +
                            " layout, only plain is supported");
  for (size_t o = 0; o < info.node().outputs.size(); ++o)
    if (info.node().outputs[o] >= 0 && info.output(int(o)).layout != Layout::plain)
      unsupported(info, "output '" + info.output(int(o)).name + "' is in " + layout_name(info.output(int(o)).layout) +
                            " layout, only plain is supported");
}

/// Work below this many elements runs on the calling thread: waking the pool costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

/// Calls fn(begin, end) over [0, n) units, split across the pool when n * unit_cost >= kParallelGrain.
inline void split_work(const ExecContext& ctx, int64_t n, int64_t unit_cost,
                       const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (!ctx.parallel || n * unit_cost < kParallelGrain)
    fn(0, n);
  else
    kernels::parallel_for(ctx.parallel, n, fn);
}

/// Element-wise split of n elements in blocks of 64 (so chunk edges keep vector alignment).
inline void split_elements(const ExecContext& ctx, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  constexpr int64_t B = 64;
  if (!ctx.parallel || n < kParallelGrain) {
    if (n > 0) fn(0, n);
    return;
  }
  kernels::parallel_for(ctx.parallel, (n + B - 1) / B,
                        [&](int64_t b, int64_t e) { fn(b * B, std::min(n, e * B)); });
}

/// Element strides of a contiguous tensor of shape `s` read as if broadcast (numpy, right-aligned) to `target`:
/// one stride per target dim, 0 where `s` has no such dim or has size 1.
inline std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& target) {
  std::vector<int64_t> st(target.size(), 0);
  int64_t stride = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t d = s.size() - 1 - i, t = target.size() - 1 - i;
    st[t] = s[d] == 1 ? 0 : stride;
    stride *= s[d];
  }
  return st;
}

/// Copies src to dst unless the planner already made them the same buffer (in-place).
inline void copy_bytes(void* dst, const void* src, size_t bytes) {
  if (dst != src && bytes) std::memmove(dst, src, bytes);
}

}  // namespace octet::ops
