// A one-node graph for Conv/Gemm/MatMul tests that need what op_test_util.h's OpTest does not set: the fused
// epilogue (Node::fusion), the KernelInfo thread count and an output buffer shared with the residual input.
#pragma once

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/kernel.h"
#include "graph/ir.h"
#include "op_test_util.h"

namespace octet::test {

class FusedOpTest {
 public:
  explicit FusedOpTest(const std::string& op) {
    g_.path = "test.onnx";
    g_.opsets[""] = 13;
    node_.name = "n0";
    node_.op_type = op;
  }
  /// Adds input `t` (a constant initializer when `constant`); returns its index in the node's inputs.
  int input(const HostTensor& t, bool constant = false) {
    int v;
    if (constant) {
      auto c = std::make_shared<Tensor>(t.dtype, t.shape);
      std::memcpy(c->data(), t.bytes.data(), c->bytes());
      v = g_.add_constant("c" + std::to_string(node_.inputs.size()), c);
    } else {
      v = g_.add_value("in" + std::to_string(node_.inputs.size()), t.dtype);
      g_.values[v].set_shape(t.shape);
    }
    g_.values[v].layout = t.layout;
    node_.inputs.push_back(v);
    inputs_.push_back(t);
    return int(node_.inputs.size()) - 1;
  }
  void absent() {
    node_.inputs.push_back(-1);
    inputs_.emplace_back();
  }
  void output(Shape s, Layout l = Layout::plain) {
    int v = g_.add_value("out", DType::f32);
    g_.values[v].set_shape(s);
    g_.values[v].layout = l;
    node_.outputs.push_back(v);
    out_ = HostTensor(DType::f32, s, l);
  }
  Node& node() { return node_; }
  void ints(const std::string& k, std::vector<int64_t> v) {
    node_.attrs[k].kind = Attribute::Kind::ints, node_.attrs[k].ints = std::move(v);
  }
  void fuse(int residual_input, const std::string& act, float alpha = 0, float beta = 0) {
    node_.fusion.residual_input = residual_input;
    node_.fusion.activation = act;
    node_.fusion.alpha = alpha;
    node_.fusion.beta = beta;
  }
  std::unique_ptr<Kernel> make(kernels::Isa isa, int threads = 1) {
    if (g_.nodes.empty()) g_.add_node(node_);
    KernelFactory f = KernelRegistry::instance().find("", node_.op_type);
    const bool registered = f != nullptr;
    REQUIRE(registered);
    return f(KernelInfo{g_, 0, isa, threads});
  }
  /// Runs; with `alias_residual` the output buffer is the residual input's own buffer (as the planner may do).
  std::vector<float> run(const Kernel& k, kernels::Parallel* par = nullptr, bool alias_residual = false) {
    std::vector<TensorView> in;
    for (auto& t : inputs_) in.push_back(t.bytes.empty() ? TensorView{} : t.view());
    TensorView out = out_.view();
    std::fill(out_.bytes.begin(), out_.bytes.end(), 0xCD);
    std::vector<unsigned char> alias_copy;
    if (alias_residual) {
      const int r = node_.fusion.residual_input;
      REQUIRE(r >= 0);
      alias_copy = inputs_[size_t(r)].bytes;  // keep the input intact for the next run
      out.data = alias_copy.data();
      in[size_t(r)].data = alias_copy.data();
    }
    std::vector<unsigned char> ws(k.workspace_bytes() + 64);
    ExecContext ctx;
    ctx.parallel = par;
    ctx.workspace = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
    k.run(ctx, in, std::span<const TensorView>(&out, 1));
    std::vector<float> r(size_t(num_elements(out_.shape)));
    std::memcpy(r.data(), out.data, r.size() * sizeof(float));
    return r;
  }

 private:
  Graph g_;
  Node node_;
  std::vector<HostTensor> inputs_;
  HostTensor out_;
};

}  // namespace octet::test
