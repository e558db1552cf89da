// Storage for packed weights: written once at session creation, read by every run.
//
// Large buffers are mapped with MAP_POPULATE: the kernel maps and clears all their pages in one call instead of
// taking one page fault per 4 KB on first write. Packing touches each page exactly once, right away, so nothing
// is wasted; and in a virtual machine each page fault is an exit costing microseconds (~70 ms for the 25 MB of
// an int8 ResNet-50's weights against ~35 ms populated, measured on the project's Zen 5 VM). Small buffers come
// from the heap as usual.
#pragma once

#include <cstddef>
#include <cstdint>

namespace octet::kernels {

class PackedBuffer {
 public:
  PackedBuffer() = default;
  /// At least `bytes` bytes, 64-byte aligned, contents undefined. Throws std::bad_alloc.
  explicit PackedBuffer(size_t bytes);
  ~PackedBuffer();
  PackedBuffer(PackedBuffer&& o) noexcept;
  PackedBuffer& operator=(PackedBuffer&& o) noexcept;
  PackedBuffer(const PackedBuffer&) = delete;
  PackedBuffer& operator=(const PackedBuffer&) = delete;

  uint8_t* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  void release();
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
  bool mapped_ = false;
};

}  // namespace octet::kernels
