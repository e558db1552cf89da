// A fixed pool of worker threads for splitting one layer's work. Workers spin briefly after a job and then
// sleep on a condition variable, so an idle session does not burn the other cores.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/parallel.h"

namespace octet {

class ThreadPool final : public kernels::Parallel {
 public:
  /// `threads` counts the calling thread: ThreadPool(2) starts one worker.
  explicit ThreadPool(int threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const override { return threads_; }
  /// Splits [0, n) into min(n, threads()) contiguous chunks; chunk 0 runs on the caller. Only one caller at a
  /// time uses the workers: a concurrent caller runs its whole range inline, so results never depend on timing.
  void for_range(int64_t n, const std::function<void(int64_t, int64_t)>& fn) override;

  /// The process-wide pool with this many threads (created on first use, shared by sessions).
  static std::shared_ptr<ThreadPool> shared(int threads);

 private:
  void worker(int index);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex busy_;  // held by the caller that owns the workers for one for_range

  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  bool stop_ = false;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_chunks_ = 0;
};

/// Cores available to this process (affinity mask), counting one thread per physical core when SMT siblings
/// are both available.
int available_cores();

}  // namespace octet
