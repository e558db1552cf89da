#include "kernels/packed_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>
#include <utility>

namespace octet::kernels {
namespace {
// Below this the heap is cheaper (and keeps small layers off their own pages).
constexpr size_t kMapBytes = size_t(256) << 10;
}  // namespace

PackedBuffer::PackedBuffer(size_t bytes) : n_(bytes) {
  if (bytes >= kMapBytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) {
      p_ = static_cast<uint8_t*>(p);  // page aligned
      mapped_ = true;
      return;
    }
  }
  p_ = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes == 0 ? 64 : 0)));
  if (!p_) throw std::bad_alloc();
}

PackedBuffer::~PackedBuffer() { release(); }

PackedBuffer::PackedBuffer(PackedBuffer&& o) noexcept
    : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)), mapped_(std::exchange(o.mapped_, false)) {}

PackedBuffer& PackedBuffer::operator=(PackedBuffer&& o) noexcept {
  if (this != &o) {
    release();
    p_ = std::exchange(o.p_, nullptr);
    n_ = std::exchange(o.n_, 0);
    mapped_ = std::exchange(o.mapped_, false);
  }
  return *this;
}

void PackedBuffer::release() {
  if (!p_) return;
  if (mapped_)
    ::munmap(p_, n_);
  else
    std::free(p_);
  p_ = nullptr;
}

}  // namespace octet::kernels
