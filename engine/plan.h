// A model compiled for concrete input shapes: shapes inferred, constants folded, passes run, one kernel per node
// (weights packed), and every intermediate tensor given an offset in one arena by liveness.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "engine/kernel.h"
#include "engine/session.h"
#include "engine/thread_pool.h"

namespace octet {

/// Handed to a per-step callback after each step: which step ran, for how long, and what it wrote (the views
/// are valid only during the callback: profilers read the timing, calibration observers read the outputs).
struct StepTiming {
  int step;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
  const std::vector<TensorView>* outputs = nullptr;  // one view per node output (data null when absent)
};

class Plan {
 public:
  /// `input_values[i]`, when not null, freezes input i to that value (a shape operand such as Reshape's `shape`
  /// fed as a graph input): it becomes a constant of the plan, and the caller must compile another plan for
  /// another value (Session does).
  Plan(const Graph& model, const std::vector<Shape>& input_shapes, const SessionOptions& opt,
       const std::vector<const TensorView*>& input_values = {});
  /// The same, taking the graph over: when the caller holds no other reference to its constants, each weight's
  /// bytes are freed as soon as the kernels reading it have packed it (the creation's memory peak is then the
  /// packed weights, not packed + original).
  Plan(Graph&& model, const std::vector<Shape>& input_shapes, const SessionOptions& opt,
       const std::vector<const TensorView*>& input_values = {});

  const Graph& graph() const { return g_; }
  /// Runs the plan. Thread-safe: each concurrent call takes its own arena. `on_step`, if set, is called after
  /// each step with its timing (profiling).
  std::vector<Tensor> run(const std::vector<TensorView>& inputs,
                          const std::function<void(const StepTiming&)>& on_step = nullptr);
  /// Runs the plan and writes graph output i straight into `outputs[i]` (the caller's buffer: its dtype and
  /// shape must be the output's, plain layout), with no intermediate tensor. Throws Error naming the output on
  /// a mismatch, before any step runs. Thread-safe as run().
  void run_into(const std::vector<TensorView>& inputs, std::span<const TensorView> outputs,
                const std::function<void(const StepTiming&)>& on_step = nullptr);
  std::vector<NodeReport> describe() const;
  size_t num_steps() const { return steps_.size(); }
  /// Node id (in graph()) of a step.
  int step_node(int step) const { return steps_[step].node; }
  const Kernel& step_kernel(int step) const { return *steps_[step].kernel; }
  /// Bytes of one run context's arena (activations + workspace).
  size_t arena_bytes() const { return arena_bytes_; }
  int threads() const { return pool_ ? pool_->threads() : 1; }
  /// The worker pool this plan runs on (ThreadPool::shared(threads) unless SessionOptions::shared_pool is false);
  /// null for one thread.
  const ThreadPool* pool() const { return pool_.get(); }

 private:
  struct Step {
    int node;
    std::unique_ptr<Kernel> kernel;
  };
  struct Arena {
    void* base = nullptr;
    ~Arena();
  };

  void bind_and_fold(const std::vector<Shape>& input_shapes, const std::vector<const TensorView*>& input_values);
  void create_kernels();
  void build(const std::vector<Shape>& input_shapes, const std::vector<const TensorView*>& input_values);
  void plan_memory();
  std::unique_ptr<Arena> take_arena();
  void give_arena(std::unique_ptr<Arena> a);

  Graph g_;
  SessionOptions opt_;
  std::shared_ptr<ThreadPool> pool_;
  std::vector<Step> steps_;
  std::vector<int64_t> offset_;   // per value: byte offset in the arena, -1 when not an arena value
  size_t workspace_offset_ = 0;   // the largest step workspace starts here
  size_t arena_bytes_ = 0;
  std::mutex arenas_mu_;
  std::vector<std::unique_ptr<Arena>> arenas_;
};

/// Runs one node on constant inputs at compile time (constant folding); sets its outputs' Value::constant.
void evaluate_constant_node(Graph& g, int node, kernels::Isa isa);

}  // namespace octet
