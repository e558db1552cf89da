// Per-node timing of a plan's runs: a per-layer table and a Chrome trace (chrome://tracing, Perfetto).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/plan.h"

namespace octet {

/// Multiply-accumulates of one node of a compiled graph (Conv, Gemm, MatMul; 0 for other ops).
int64_t node_macs(const Graph& g, int node);

class Profiler {
 public:
  explicit Profiler(const Plan& plan, size_t max_trace_runs = 50);
  /// Pass to Plan::run as its on_step callback (not thread-safe: profile one run at a time).
  void on_step(const StepTiming& t);
  /// Marks the end of one run (for the trace's run boundaries and the averages).
  void end_run() { ++runs_; }
  struct Row {
    std::string node, op, fused, kernel, precision;
    double ms = 0;       // mean per run
    double percent = 0;  // of the summed node time
    double gmacs = 0;    // GMAC/s, 0 for ops without MACs
  };
  std::vector<Row> table() const;
  /// Prints table() as aligned text.
  void print_table(std::FILE* f) const;
  /// Writes the Chrome trace JSON (one complete event per node run). Throws Error naming the file on failure.
  void write_trace(const std::string& path) const;

 private:
  struct Event {
    int step;
    double start_us, dur_us;
  };
  const Plan& plan_;
  size_t max_trace_runs_;
  size_t runs_ = 0;
  bool have_origin_ = false;
  std::chrono::steady_clock::time_point origin_;
  std::vector<double> total_ms_;
  std::vector<Event> events_;
};

}  // namespace octet
