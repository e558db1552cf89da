#include "engine/thread_pool.h"

#include <sched.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>

namespace octet {

namespace {
// Chunk c of n items split into `chunks` nearly equal contiguous parts.
inline void chunk_range(int64_t n, int chunks, int c, int64_t* b, int64_t* e) {
  *b = n * c / chunks;
  *e = n * (c + 1) / chunks;
}
constexpr auto kSpin = std::chrono::microseconds(200);  // spin this long before sleeping
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::for_range(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int chunks = int(std::min<int64_t>(n, threads_));
  std::unique_lock<std::mutex> own(busy_, std::try_to_lock);
  if (chunks == 1 || !own.owns_lock()) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    job_ = &fn;
    job_n_ = n;
    job_chunks_ = chunks;
    remaining_.store(chunks - 1);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  int64_t b, e;
  chunk_range(n, chunks, 0, &b, &e);
  fn(b, e);
  // Spin briefly (the workers usually finish together), then yield: on a machine with more runnable threads than
  // cores a descheduled worker must get the core back instead of watching the caller burn its time slice.
  for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4000) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a short while on the generation counter, then sleep.
    auto until = std::chrono::steady_clock::now() + kSpin;
    while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    const std::function<void(int64_t, int64_t)>* job;
    int64_t n;
    int chunks;
    {
      std::unique_lock<std::mutex> l(mu_);
      wake_.wait(l, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      job = job_;
      n = job_n_;
      chunks = job_chunks_;
    }
    if (index < chunks) {
      int64_t b, e;
      chunk_range(n, chunks, index, &b, &e);
      (*job)(b, e);
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

std::shared_ptr<ThreadPool> ThreadPool::shared(int threads) {
  static std::mutex mu;
  static std::map<int, std::weak_ptr<ThreadPool>> pools;
  std::lock_guard<std::mutex> l(mu);
  auto& w = pools[threads];
  if (auto p = w.lock()) return p;
  auto p = std::make_shared<ThreadPool>(threads);
  w = p;
  return p;
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return int(std::max(1u, std::thread::hardware_concurrency()));
  // Count distinct physical cores among the CPUs we may run on.
  std::set<std::string> cores;
  int cpus = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    ++cpus;
    std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/thread_siblings_list");
    std::string sib;
    if (f >> sib)
      cores.insert(sib);
    else
      cores.insert(std::to_string(c));
  }
  int n = cores.empty() ? cpus : int(cores.size());
  return n < 1 ? 1 : n;
}

}  // namespace octet
