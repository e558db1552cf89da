#include "graph/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace octet {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: case DType::u32: return 4;
    case DType::u8: case DType::i8: case DType::boolean: return 1;
    case DType::u16: case DType::i16: case DType::f16: case DType::bf16: return 2;
    case DType::i64: case DType::u64: case DType::f64: return 8;
    default: return 0;
  }
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::u8: return "uint8";
    case DType::i8: return "int8";
    case DType::u16: return "uint16";
    case DType::i16: return "int16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::string: return "string";
    case DType::boolean: return "bool";
    case DType::f16: return "float16";
    case DType::f64: return "float64";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
    case DType::bf16: return "bfloat16";
    default: return "undefined";
  }
}

const char* layout_name(Layout l) { return l == Layout::nhwc ? "nhwc" : "plain"; }

int64_t num_elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  if (s.empty()) return "scalar";
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += 'x';
    r += std::to_string(s[i]);
  }
  return r;
}

void* aligned_alloc64(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return p;
}

void aligned_free64(void* p) { std::free(p); }

void Tensor::Free::operator()(void* p) const {
  if (!owner) aligned_free64(p);
}

Tensor::Tensor(DType dtype, Shape shape, const void* data, Borrowed b) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw std::invalid_argument("Tensor: negative dimension in shape " + shape_str(shape_));
  // Constants are shared as const Tensor and never written; the model mapping is read-only, so a write through
  // data() would fault at once rather than change anything.
  data_ = std::unique_ptr<void, Free>(const_cast<void*>(data), Free{std::move(b.owner)});
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw std::invalid_argument("Tensor: negative dimension in shape " + shape_str(shape_));
  data_.reset(aligned_alloc64(bytes()));
}

void Tensor::reshape(Shape s) {
  if (num_elements(s) != numel())
    throw std::invalid_argument("Tensor::reshape: " + shape_str(shape_) + " to " + shape_str(s));
  shape_ = std::move(s);
}

}  // namespace octet
