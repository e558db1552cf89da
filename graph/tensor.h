// Element types, shapes and owning/non-owning tensors shared by the graph and the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace octet {

// Values match onnx::TensorProto_DataType so conversion is a cast.
enum class DType : int32_t {
  undefined = 0,
  f32 = 1,
  u8 = 2,
  i8 = 3,
  u16 = 4,
  i16 = 5,
  i32 = 6,
  i64 = 7,
  string = 8,
  boolean = 9,
  f16 = 10,
  f64 = 11,
  u32 = 12,
  u64 = 13,
  bf16 = 16,
};

/// Size of one element in bytes (0 for undefined/string).
size_t dtype_size(DType t);
/// Short name used in messages: "float32", "uint8", ...
const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;

/// Number of elements of a concrete shape (1 for a scalar).
int64_t num_elements(const Shape& s);
/// "1x3x224x224" ("scalar" for rank 0).
std::string shape_str(const Shape& s);

/// Physical order of a 4-D activation tensor in memory. The logical shape is always NCHW; kernels that see
/// `nhwc` read the same logical tensor with channels innermost.
enum class Layout : uint8_t { plain = 0, nhwc = 1 };
const char* layout_name(Layout l);

/// A non-owning view of a tensor: dtype, logical shape, layout and data pointer.
struct TensorView {
  DType dtype = DType::undefined;
  Shape shape;
  Layout layout = Layout::plain;
  void* data = nullptr;

  int64_t numel() const { return num_elements(shape); }
  size_t bytes() const { return size_t(numel()) * dtype_size(dtype); }
  template <class T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

/// An owning tensor with 64-byte aligned storage (constants, inputs/outputs the caller keeps), or - for the
/// 1-byte constants of a model file that is mapped - one that borrows its bytes from that mapping (Borrowed).
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled
  /// Tag of the constructor that leaves the storage uninitialised, for a caller that writes every byte right
  /// away (a decoded initializer, a folded constant's output): zero-filling a buffer that is overwritten at once
  /// costs a pass over memory (~80 M instructions while ResNet-50 loads).
  struct Uninitialized {};
  inline Tensor(DType dtype, Shape shape, Uninitialized);
  /// Tag of a tensor that keeps its dtype and shape but holds no data (data() is null, empty() is true): what is
  /// left of a constant whose bytes were released because every kernel reading it packed its own copy
  /// (engine/plan.cpp), so shapes and `inspect` still describe it.
  struct Released {};
  Tensor(DType dtype, Shape shape, Released) : dtype_(dtype), shape_(std::move(shape)) {}
  /// Tag of a tensor whose bytes are someone else's (a byte range of the mapped model file, graph/onnx_import.cpp):
  /// the tensor keeps `owner` alive and frees nothing itself, so dropping the last tensor on an owner runs the
  /// owner's destructor (which may give the pages back). No alignment is promised: the loader borrows only 1-byte
  /// element types.
  struct Borrowed {
    std::shared_ptr<const void> owner;
  };
  Tensor(DType dtype, Shape shape, const void* data, Borrowed b);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return num_elements(shape_); }
  size_t bytes() const { return size_t(numel()) * dtype_size(dtype_); }
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  template <class T>
  T* as() {
    return static_cast<T*>(data());
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data());
  }
  /// Same storage, new shape with the same element count.
  void reshape(Shape s);
  TensorView view() const { return TensorView{dtype_, shape_, Layout::plain, const_cast<void*>(data())}; }
  bool empty() const { return !data_; }
  /// True for Borrowed storage.
  bool borrowed() const { return data_.get_deleter().owner != nullptr; }

 private:
  struct Free {
    std::shared_ptr<const void> owner;  // set for Borrowed storage: nothing to free, the owner is released
    void operator()(void* p) const;
  };
  DType dtype_ = DType::undefined;
  Shape shape_;
  std::unique_ptr<void, Free> data_;
};

/// 64-byte aligned allocation, zero-filled; never returns null (throws std::bad_alloc).
void* aligned_alloc64(size_t bytes);
void aligned_free64(void* p);

/// aligned_alloc64 without the zero fill: the caller writes the bytes before anyone reads them. Freed by
/// aligned_free64 (both are std::aligned_alloc / std::free).
inline void* aligned_alloc64_uninitialized(size_t bytes) {
  const size_t rounded = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}

inline Tensor::Tensor(DType dtype, Shape shape, Uninitialized) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw std::invalid_argument("Tensor: negative dimension in shape " + shape_str(shape_));
  data_.reset(aligned_alloc64_uninitialized(bytes()));
}

}  // namespace octet
