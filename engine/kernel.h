// A compiled node: created once per (node, concrete shapes) with weights packed, then run many times, possibly
// from several threads at once (run() is const; per-run state lives in ExecContext).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/ir.h"
#include "kernels/dispatch.h"
#include "kernels/parallel.h"

namespace octet {

/// Per-run state handed to a kernel: the thread pool share and this kernel's scratch memory.
struct ExecContext {
  kernels::Parallel* parallel = nullptr;  // null: run on the calling thread
  void* workspace = nullptr;              // workspace_bytes() bytes, 64-byte aligned, uninitialised
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  /// Computes the node. `in` has one view per node input (data == nullptr for an absent optional input);
  /// `out` one per output, already allocated with the shapes and layouts compiled for.
  virtual void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const = 0;
  /// Scratch memory needed by run(); planned in the arena.
  virtual size_t workspace_bytes() const { return 0; }
  /// What runs, for `octet inspect` and profiles: e.g. "conv/onednn:jit:avx2", "eltwise/relu/avx2".
  virtual std::string name() const = 0;
  /// Index of an input whose buffer output 0 may overwrite (element-wise ops), or -1.
  virtual int inplace_input() const { return -1; }
  /// True when input i is a constant this kernel copied (packed) at creation and run() never reads: the plan
  /// then frees the constant's bytes once no other step reads it, and run() gets a view with null data for it.
  virtual bool input_packed(int i) const { return false; }
};

/// Everything a kernel factory may look at: the node, and its inputs/outputs with concrete shapes, dtypes,
/// layouts and constant data (weights) as bound at compile time.
struct KernelInfo {
  const Graph& graph;
  int node_id;
  kernels::Isa isa;   // highest tier allowed for this session
  int threads;

  const Node& node() const { return graph.nodes[node_id]; }
  int num_inputs() const { return node().num_inputs(); }
  bool has_input(int i) const { return i < int(node().inputs.size()) && node().inputs[i] >= 0; }
  const Value& input(int i) const { return graph.values[node().inputs.at(i)]; }
  const Value& output(int i) const { return graph.values[node().outputs.at(i)]; }
  Shape in_shape(int i) const { return input(i).shape(); }
  Shape out_shape(int i) const { return output(i).shape(); }
  /// Constant data of input i, or null when it is computed at run time.
  const Tensor* in_const(int i) const { return has_input(i) ? input(i).constant.get() : nullptr; }
  [[noreturn]] void fail(const std::string& msg) const { graph.fail(node_id, msg); }
};

using KernelFactory = std::unique_ptr<Kernel> (*)(const KernelInfo&);

/// Op registry (engine side): ONNX op type (with domain) -> kernel factory.
class KernelRegistry {
 public:
  static KernelRegistry& instance();
  void add(const std::string& domain, const std::string& op_type, KernelFactory f);
  /// Null when the op has no kernel.
  KernelFactory find(const std::string& domain, const std::string& op_type) const;
  std::vector<std::string> ops() const;

 private:
  KernelRegistry();
  std::vector<std::pair<std::string, KernelFactory>> table_;  // key: domain + ":" + op_type
};

}  // namespace octet
