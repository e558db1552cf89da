// Graph passes: small named rewrites run after shape binding and constant folding, before kernels are chosen.
//
// When the passes run, every value has a concrete shape and every value computable without the model inputs is a
// constant (Value::constant): the engine has bound the input shapes, inferred every node and evaluated nodes whose
// inputs were all constant. Each pass is one function `bool pass_x(Graph&, std::string* note)` that performs AT
// MOST ONE rewrite and returns whether it did; so a step is exactly one rewrite, and a step limit
// (OCTET_PASS_LIMIT=k) keeps the first k rewrites only, which lets one bisect the rewrite that broke a model.
// `note`, when given, receives a one-line description of the rewrite ("fold_batchnorm: 'bn1' into 'conv1'").
//
// Every rewrite leaves a valid graph: nodes are marked dead (never erased while a pass runs), new values and
// nodes are appended, ids stay valid until Graph::compact(), which optimize() calls at the end.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet {

struct PassOptions {
  /// Rewrites allowed in total; -1 = no limit. Env OCTET_PASS_LIMIT=k (see from_env).
  int64_t max_steps = -1;
  /// Pass names not to run (see pass_list()). Env OCTET_DISABLE_PASSES=fold_batchnorm,fuse_activation.
  std::set<std::string> disabled;

  /// Defaults overridden by the environment: OCTET_PASS_LIMIT (a number >= 0) and OCTET_DISABLE_PASSES (a comma
  /// list of pass names). Throws Error on a malformed number or an unknown pass name (a typo must not silently
  /// leave the pass on).
  static PassOptions from_env();
};

/// A pass: performs at most one rewrite; returns whether it changed the graph. `note` (may be null) receives a
/// one-line description of the rewrite.
using PassFn = bool (*)(Graph& g, std::string* note);

struct PassInfo {
  const char* name;
  PassFn run;
};

/// The passes of optimize(), in the order they run.
const std::vector<PassInfo>& pass_list();

struct PassReport {
  int64_t steps = 0;               // rewrites applied
  bool limit_reached = false;      // stopped by max_steps while a pass still had work
  std::vector<std::string> log;    // one note per step, "step N: <note>"
};

/// Runs pass_list() in order, each pass until it makes no more rewrites, and repeats the whole list until a
/// round changes nothing or max_steps rewrites are done; then compacts the graph. With OCTET_PASS_LOG=1 in the
/// environment every step is also printed to stderr.
PassReport optimize(Graph& g, const PassOptions& opt = {});

/// Marks values with the physical layout their producer writes and inserts Reorder nodes (domain "octet") where
/// a producer and a consumer disagree. With `preferred` == Layout::nhwc, 4-D float values of conv chains become
/// nhwc; graph inputs, graph outputs and constants stay plain. Run it once, after optimize(). Returns whether
/// anything changed. Leaves dead nodes in place (compact() afterwards).
bool assign_layouts(Graph& g, Layout preferred);

// The passes, one file each under graph/passes/. Each comment in the .cpp gives the algebra.

/// Identity, and Dropout in inference (mask unused, training_mode absent or constant false), removed.
bool pass_remove_identity(Graph& g, std::string* note = nullptr);
/// BatchNormalization after a Conv or Gemm with constant weights folded into its weights and bias.
bool pass_fold_batchnorm(Graph& g, std::string* note = nullptr);
/// Conv -> Add(conv_out, skip) with skip of the output's shape: skip becomes the Conv's residual input.
bool pass_fuse_residual(Graph& g, std::string* note = nullptr);
/// Conv/Gemm/MatMul -> Relu/Clip/LeakyRelu/Sigmoid: the activation becomes the node's fused epilogue.
bool pass_fuse_activation(Graph& g, std::string* note = nullptr);
/// A node whose outputs nobody reads and that are not graph outputs, removed.
bool pass_eliminate_dead(Graph& g, std::string* note = nullptr);
/// QDQ patterns (DequantizeLinear -> Conv/Gemm/MatMul/Add/GlobalAveragePool -> QuantizeLinear) and QOperator ops
/// lowered to octet's fused int8 ops (QConv, QGemm, QAdd, QMaxPool, QGlobalAveragePool; domain "octet").
bool pass_lower_qdq(Graph& g, std::string* note = nullptr);

/// In a quantized graph (one with QuantizeLinear/DequantizeLinear or octet int8 ops), sets Node::note on every
/// node lowering left in float: the first condition of its int8 pattern that failed ("stays float: its output is
/// read by 'softmax' (Softmax), not a QuantizeLinear"), or where an int8 chain starts and ends. optimize() calls it
/// after the passes (unless lower_qdq is disabled).
void explain_float_nodes(Graph& g);

/// How lower_qdq runs a default-domain float op between DequantizeLinear and QuantizeLinear in int8 ("QConv,
/// with Relu/Clip and a residual Add in its epilogue"), or "" when it stays float. For `octet ops`.
std::string int8_form(const std::string& op_type);

// Layout rules of the int8 ops, for assign_layouts (graph/passes/lower_qdq.cpp).
/// QuantizeLinear, DequantizeLinear and octet's int8 ops that can run nhwc.
bool quant_layout_op(const Node& n);
/// Whether such a node runs nhwc, given the layouts already chosen for its inputs.
bool quant_runs_nhwc(const Graph& g, const Node& n);
/// Whether such a node, running nhwc, reads input slot i in nhwc.
bool quant_reads_nhwc(const Node& n, size_t i);

}  // namespace octet
