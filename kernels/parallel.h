// How kernels ask for threads without knowing who provides them (engine/thread_pool.h implements it).
#pragma once

#include <cstdint>
#include <functional>

namespace octet::kernels {

class Parallel {
 public:
  virtual ~Parallel() = default;
  virtual int threads() const = 0;
  /// Splits [0, n) into at most threads() contiguous chunks and calls fn(begin, end) for each, one per thread,
  /// the caller's thread included. Returns when all are done.
  virtual void for_range(int64_t n, const std::function<void(int64_t, int64_t)>& fn) = 0;
};

/// Runs fn over [0, n): on `par` if given and n > 1, else inline.
inline void parallel_for(Parallel* par, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (par && par->threads() > 1 && n > 1)
    par->for_range(n, fn);
  else if (n > 0)
    fn(0, n);
}

}  // namespace octet::kernels
