// A loaded model ready to run: load -> (passes) -> compile for concrete shapes -> run many times.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "graph/ir.h"
#include "kernels/dispatch.h"

namespace octet {

struct SessionOptions {
  int threads = 0;                       // 0: the cores available to this process
  kernels::Isa max_isa = kernels::max_isa();
  std::map<std::string, Shape> shapes;   // input name -> shape; binds symbolic dims (e.g. the batch)
  bool optimize = true;                  // run the graph passes (folding, fusion)
  bool shared_pool = true;               // run on ThreadPool::shared(threads); false: each plan has its own pool
  /// A session loaded from a file (Session::load) frees its model's constant data once it has compiled a plan
  /// (see Session). true keeps them: model() stays complete and new input shapes compile without re-reading.
  bool keep_constants = false;
  /// Compiled plans kept per session, one per distinct set of input shapes (and shape-operand values), least
  /// recently used dropped first; a plan still running on another thread lives until that run ends. 0: no bound.
  size_t max_cached_plans = 8;
};

/// One line of `octet inspect`: a node of the compiled graph.
struct NodeReport {
  std::string name, op, fused, kernel, precision, in_shapes, out_shapes;
  /// Why a node of a quantized model runs in float, or that an int8 kernel comes from a lower ISA tier than the
  /// session's; empty otherwise.
  std::string note;
};

class Plan;  // engine/plan.h

/// Memory: the weights live once. A compiled plan holds what it runs with (packed kernel weights, folded
/// constants); the model's own constants are needed only to compile. So a session made by Session::load frees its
/// model's constant data right after compiling its first plan (unless SessionOptions::keep_constants): model()
/// then still describes every value (names, dtypes, shapes; Value::constant is set but empty()), and a later plan
/// for other input shapes is compiled from a fresh read of the same file, after checking that the file's size and
/// modification time are those it had at load (else Error: the file changed). A session made from a Graph (C API
/// buffers, calibration) has no file to re-read and keeps its constants.
class Session {
 public:
  /// Loads and validates a model (throws Error naming the file on bad input, listing all unsupported ops).
  static std::unique_ptr<Session> load(const std::string& path, SessionOptions opt = {});
  Session(Graph g, SessionOptions opt);
  ~Session();

  /// The model as loaded (before passes). Its constants' data may have been released (see above).
  const Graph& model() const { return model_; }
  const SessionOptions& options() const { return opt_; }
  int threads() const;
  size_t num_inputs() const { return model_.inputs.size(); }
  size_t num_outputs() const { return model_.outputs.size(); }
  const Value& input(size_t i) const { return model_.values[model_.inputs[i]]; }
  const Value& output(size_t i) const { return model_.values[model_.outputs[i]]; }
  /// The shape input i will have when none is given: options' shape, else the model's with symbolic dims set
  /// to 1. Throws if that leaves a dim unknown.
  Shape default_input_shape(size_t i) const;

  /// Runs on inputs in model input order (plain layout). Compiles (and caches) a plan for their shapes.
  /// Thread-safe: concurrent calls each get their own arena.
  std::vector<Tensor> run(const std::vector<TensorView>& inputs);
  /// The same, writing output i into the caller's `outputs[i]` (dtype and shape as the plan's output, plain
  /// layout): no intermediate copy. Thread-safe.
  void run_into(const std::vector<TensorView>& inputs, std::span<const TensorView> outputs);
  /// The compiled graph for the given (or default) input shapes, one report per node in run order.
  std::vector<NodeReport> describe(const std::vector<Shape>& input_shapes = {});
  /// The plan for these input shapes: compiled on first use and kept in a cache of at most
  /// SessionOptions::max_cached_plans plans (least recently used evicted; the returned reference keeps an evicted
  /// plan alive). Shape inference and memory planning run only when a new shape arrives. Throws Error on a shape
  /// mismatch. Inputs that are shape operands (see shape_input()) need their values: pass `inputs` when there
  /// are any.
  std::shared_ptr<Plan> plan_for(const std::vector<Shape>& input_shapes, const std::vector<TensorView>& inputs = {});
  /// Plans in the cache now, and plans compiled since the session was made (for tests and `bench`).
  size_t cached_plans() const;
  size_t plans_compiled() const { return plans_compiled_; }
  /// Whether input i is a shape operand: an integer input read directly as the shape or axes of a node
  /// (Reshape's `shape`, Squeeze/Unsqueeze's `axes`, ...). Plans are compiled per value of such inputs.
  bool shape_input(size_t i) const { return shape_input_[i]; }

 private:
  void release_model_constants();
  Graph reload_model() const;
  /// Throws Error "<file>: the model file changed ... and <why>" when source_ differs from what was loaded.
  void check_source_unchanged(const char* why) const;

  Graph model_;
  SessionOptions opt_;
  // The file the model came from (Session::load), and its size and mtime then; empty for a Graph given directly.
  std::string source_;
  uintmax_t source_size_ = 0;
  int64_t source_mtime_ = 0;
  bool constants_released_ = false;
  bool borrowed_ = false;  // the int8 weights of model_ borrow the file's mapping (load_onnx's borrow)
  mutable std::mutex mu_;
  std::vector<bool> shape_input_;
  struct CachedPlan {
    std::vector<Shape> shapes;
    std::string values;  // bytes of the shape-operand inputs
    std::shared_ptr<Plan> plan;
  };
  std::vector<CachedPlan> plans_;  // most recently used last
  size_t plans_compiled_ = 0;
};

}  // namespace octet
