// The graph IR: values (typed, shaped, maybe constant), nodes (op, attributes, fused parts) and the graph.
//
// The IR knows nothing of ONNX protobuf (graph/onnx_import.cpp builds it) or of kernels (engine/ plans it).
// Node and value ids are indices into Graph::nodes / Graph::values; passes mark nodes dead and the graph is
// compacted afterwards, so ids stay valid while a pass runs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/error.h"
#include "graph/tensor.h"

namespace octet {

/// One dimension: a number, or a symbol ("N") until shapes are bound. value < 0 means unknown.
struct Dim {
  int64_t value = -1;
  std::string symbol;
  bool known() const { return value >= 0; }
};

struct Attribute {
  enum class Kind { undefined, f, i, s, t, floats, ints, strings, graph };
  Kind kind = Kind::undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<const Tensor> t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Value {
  std::string name;
  DType dtype = DType::undefined;
  bool has_shape = false;        // rank known
  std::vector<Dim> dims;         // valid when has_shape
  std::shared_ptr<const Tensor> constant;  // initializer or folded constant, else null
  Layout layout = Layout::plain; // physical layout chosen by the layout pass
  int producer = -1;             // node id, -1 for graph inputs and constants

  /// Concrete shape; throws if any dim is unknown.
  Shape shape() const;
  bool shape_known() const;
  void set_shape(const Shape& s);
  /// Bytes of the tensor with its concrete shape (throws if unknown).
  size_t bytes_hint() const { return size_t(num_elements(shape())) * dtype_size(dtype); }
};

/// Epilogue fused into a Conv/Gemm/MatMul node by the fusion passes: out = act(op(x) + bias + residual).
struct Fusion {
  std::string activation;        // "", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Silu"
  float alpha = 0, beta = 0;     // Clip min/max, LeakyRelu alpha
  int residual_input = -1;       // index into Node::inputs of the tensor added before the activation
  std::vector<std::string> parts;  // names of the ONNX nodes folded in, for `inspect`
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;            // "" is the default ONNX domain
  std::vector<int> inputs;       // value ids; -1 marks an absent optional input
  std::vector<int> outputs;      // value ids
  std::map<std::string, Attribute> attrs;
  Fusion fusion;
  bool dead = false;
  /// Why the node kept its form, for `octet inspect` (e.g. why a float node of a quantized model was not lowered
  /// to int8: graph/passes/lower_qdq.cpp explain_float_nodes). Empty when there is nothing to say.
  std::string note;

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  int64_t attr_i(const std::string& k, int64_t def) const;
  float attr_f(const std::string& k, float def) const;
  std::string attr_s(const std::string& k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& k, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& k, std::vector<float> def = {}) const;
  /// Number of inputs that are present (trailing absent ones are not counted).
  int num_inputs() const;
};

class Graph {
 public:
  std::string path;                        // the model file, for messages
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;                 // value ids of the graph inputs (not initializers)
  std::vector<int> outputs;                // value ids of the graph outputs
  std::map<std::string, int64_t> opsets;   // domain -> version
  std::map<std::string, std::string> metadata;  // metadata_props
  std::string producer;

  int add_value(const std::string& name, DType dtype = DType::undefined);
  int add_constant(const std::string& name, std::shared_ptr<const Tensor> t);
  int add_node(Node n);                    // sets producer of its outputs
  /// Value id by name, or -1.
  int find_value(const std::string& name) const;
  /// `base`, or `base_2`, `base_3`, ...: a value name not yet in the graph.
  std::string unique_value_name(const std::string& base) const;
  /// "model.onnx: node 'conv1' (Conv)" - the prefix of every message about a node.
  std::string where(int node) const;
  /// Throws Error("<where(node)>: <msg>").
  [[noreturn]] void fail(int node, const std::string& msg) const;
  /// Live nodes in an order where producers come first. Throws on a cycle.
  std::vector<int> topo_order() const;
  /// For each value id, the live nodes that read it.
  std::vector<std::vector<int>> consumers() const;
  /// Whether a value is a graph output.
  bool is_output(int value) const;
  int64_t opset(const std::string& domain = "") const;
  /// Drops dead nodes and values nobody references; renumbers ids.
  void compact();
  /// Rewires every reader of value `from` (nodes and graph outputs) to read `to`.
  void replace_uses(int from, int to);

 private:
  std::map<std::string, int> by_name_;
};

}  // namespace octet
