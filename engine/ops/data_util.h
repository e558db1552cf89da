// Helpers shared by the data-movement op factories (engine/ops/copy_ops.cpp, index_ops.cpp): element sizes,
// strides, writing a scalar of any dtype, and dispatch over the numeric dtypes.
#pragma once

#include <cstring>
#include <vector>

#include "engine/kernel.h"
#include "engine/ops/op_util.h"

namespace octet::ops {

/// The element size of v (1, 2, 4 or 8 bytes); Unsupported for strings and undefined types.
inline size_t element_bytes(const KernelInfo& info, const Value& v) {
  const size_t es = dtype_size(v.dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8)
    unsupported(info, "'" + v.name + "' has type " + dtype_name(v.dtype) + ", which is not supported");
  return es;
}

/// Row-major strides (in elements) of shape s.
inline std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

/// Writes `v` converted to dtype t (C++ conversion; bool: v != 0) as one element at out.
inline void store_scalar(DType t, double v, void* out) {
  auto put = [&](auto x) { std::memcpy(out, &x, sizeof(x)); };
  switch (t) {
    case DType::f32:
      return put(float(v));
    case DType::f64:
      return put(v);
    case DType::i64:
      return put(int64_t(v));
    case DType::u64:
      return put(uint64_t(v));
    case DType::i32:
      return put(int32_t(v));
    case DType::u32:
      return put(uint32_t(v));
    case DType::i16:
      return put(int16_t(v));
    case DType::u16:
      return put(uint16_t(v));
    case DType::i8:
      return put(int8_t(v));
    case DType::boolean:
      return put(uint8_t(v != 0));
    default:
      return put(uint8_t(v));
  }
}

/// Calls f(T{}) with the C++ type of a numeric dtype; false (f not called) for other dtypes.
template <class F>
bool dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::f32:
      f(float{});
      return true;
    case DType::f64:
      f(double{});
      return true;
    case DType::i64:
      f(int64_t{});
      return true;
    case DType::u64:
      f(uint64_t{});
      return true;
    case DType::i32:
      f(int32_t{});
      return true;
    case DType::u32:
      f(uint32_t{});
      return true;
    case DType::i16:
      f(int16_t{});
      return true;
    case DType::u16:
      f(uint16_t{});
      return true;
    case DType::i8:
      f(int8_t{});
      return true;
    case DType::u8:
      f(uint8_t{});
      return true;
    default:
      return false;
  }
}

/// Reads element i of an index tensor (int32 or int64) as int64.
inline int64_t index_at(const TensorView& t, int64_t i) {
  return t.dtype == DType::i64 ? t.as<const int64_t>()[i] : int64_t(t.as<const int32_t>()[i]);
}

}  // namespace octet::ops
