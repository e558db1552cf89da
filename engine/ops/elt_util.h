// Shared by the element-wise ops of any dtype (eltwise_math.cpp, broadcast_ops.cpp, cast.cpp): a C++ type per
// octet DType with a visitor, the 16-bit float storage types, a kernel made of a closure, and the row loop over
// a numpy broadcast.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>

#include "engine/kernel.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/op_util.h"
#include "kernels/eltwise/half.h"

namespace octet::ops {

/// float16 / bfloat16 elements: 16-bit storage, arithmetic in float (converted per element, rounded back to
/// nearest even), which is what numpy and ONNX Runtime do for these types.
struct f16_t {
  uint16_t bits;
  static f16_t from(float f) { return {kernels::f32_to_f16(f)}; }
  operator float() const { return kernels::f16_to_f32(bits); }
};
struct bf16_t {
  uint16_t bits;
  static bf16_t from(float f) { return {kernels::f32_to_bf16(f)}; }
  operator float() const { return kernels::bf16_to_f32(bits); }
};

template <class T>
constexpr bool is_half_v = std::is_same_v<T, f16_t> || std::is_same_v<T, bf16_t>;
template <class T>
constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;

/// The type arithmetic on T happens in: float for the 16-bit floats, T otherwise.
template <class T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;
template <class T>
inline compute_t<T> load_c(T v) {
  return compute_t<T>(v);
}
template <class T>
inline T store_c(compute_t<T> v) {
  if constexpr (is_half_v<T>)
    return T::from(v);
  else
    return T(v);
}

template <class T>
struct Tag {
  using type = T;
};

/// Calls fn(Tag<T>{}) with T the C++ element type of dt and returns true; false for string / undefined.
template <class Fn>
bool visit_dtype(DType dt, Fn&& fn) {
  switch (dt) {
    case DType::f32: fn(Tag<float>{}); return true;
    case DType::f64: fn(Tag<double>{}); return true;
    case DType::f16: fn(Tag<f16_t>{}); return true;
    case DType::bf16: fn(Tag<bf16_t>{}); return true;
    case DType::i8: fn(Tag<int8_t>{}); return true;
    case DType::u8: fn(Tag<uint8_t>{}); return true;
    case DType::i16: fn(Tag<int16_t>{}); return true;
    case DType::u16: fn(Tag<uint16_t>{}); return true;
    case DType::i32: fn(Tag<int32_t>{}); return true;
    case DType::u32: fn(Tag<uint32_t>{}); return true;
    case DType::i64: fn(Tag<int64_t>{}); return true;
    case DType::u64: fn(Tag<uint64_t>{}); return true;
    case DType::boolean: fn(Tag<bool>{}); return true;
    default: return false;
  }
}

using RunFn = std::function<void(ExecContext&, std::span<const TensorView>, std::span<const TensorView>)>;

/// A kernel whose run() is a closure built by the factory (the factory has checked dtypes and shapes and
/// precomputed the broadcast plan; the closure only loops).
class ClosureKernel final : public Kernel {
 public:
  ClosureKernel(std::string name, int inplace, RunFn fn) : name_(std::move(name)), inplace_(inplace), fn_(std::move(fn)) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    fn_(ctx, in, out);
  }
  std::string name() const override { return name_; }
  int inplace_input() const override { return inplace_; }

 private:
  std::string name_;
  int inplace_;
  RunFn fn_;
};

/// Calls fn(out_offset, operand_offsets, n) over every row piece of the broadcast, split across threads: by rows
/// when there are several, else by blocks of the single row. operand_offsets[k] is where operand k's piece
/// starts; within the piece operand k advances by bc.row_stride[k] per element.
template <class Fn>
void run_broadcast(const ExecContext& ctx, const BroadcastN& bc, Fn fn) {
  if (bc.row == 0) return;
  if (bc.rows == 1) {
    split_elements(ctx, bc.row, [&](int64_t b, int64_t e) {
      int64_t off[8];
      for (int k = 0; k < bc.operands; ++k) off[k] = b * bc.row_stride[k];
      fn(b, off, e - b);
    });
    return;
  }
  split_work(ctx, bc.rows, bc.row, [&](int64_t r0, int64_t r1) {
    bc.for_rows(r0, r1, [&](int64_t r, const int64_t* off) { fn(r * bc.row, off, bc.row); });
  });
}

/// The shapes of inputs [0, n) of the node.
inline std::vector<Shape> input_shapes(const KernelInfo& info, int n) {
  std::vector<Shape> s;
  for (int i = 0; i < n; ++i) s.push_back(info.in_shape(i));
  return s;
}

}  // namespace octet::ops
