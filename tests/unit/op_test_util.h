// Helpers for operator unit tests: build a one-node Graph, create its kernel through the registry for a forced
// ISA tier, and run it on host buffers. Also layout conversions and random data for reference comparisons.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/kernel.h"
#include "graph/ir.h"
#include "kernels/dispatch.h"

namespace octet::test {

/// Tiers this CPU runs, each with its own kernel table (scalar = the SSE2 baseline build).
inline std::vector<kernels::Isa> cpu_tiers() {
  std::vector<kernels::Isa> r;
  for (kernels::Isa i : {kernels::Isa::scalar, kernels::Isa::avx2, kernels::Isa::avx512})
    if (int(i) <= int(kernels::detected_isa())) r.push_back(i);
  return r;
}

/// Every int8 tier this CPU runs (the int8 kernels have five: the float ones' three plus the two VNNI tiers).
inline std::vector<kernels::Isa> int8_tiers() {
  std::vector<kernels::Isa> r;
  for (kernels::Isa i : {kernels::Isa::scalar, kernels::Isa::avx2, kernels::Isa::avxvnni, kernels::Isa::avx512,
                         kernels::Isa::avx512vnni})
    if (int(i) <= int(kernels::detected_isa())) r.push_back(i);
  return r;
}

/// A Parallel that runs the chunks one after another on the calling thread: exercises the splitting logic
/// deterministically (a real pool is tested separately).
class SerialChunks final : public kernels::Parallel {
 public:
  explicit SerialChunks(int n) : n_(n) {}
  int threads() const override { return n_; }
  void for_range(int64_t n, const std::function<void(int64_t, int64_t)>& fn) override {
    const int64_t chunks = std::min<int64_t>(n, n_);
    for (int64_t c = 0; c < chunks; ++c) fn(n * c / chunks, n * (c + 1) / chunks);
  }

 private:
  int n_;
};

/// A host tensor for tests: bytes plus dtype/shape/layout.
struct HostTensor {
  DType dtype = DType::f32;
  Shape shape;
  Layout layout = Layout::plain;
  std::vector<unsigned char> bytes;

  HostTensor() = default;
  HostTensor(DType t, Shape s, Layout l = Layout::plain) : dtype(t), shape(std::move(s)), layout(l) {
    bytes.resize(size_t(num_elements(shape)) * dtype_size(t) + 64);  // slack so a stray over-read stays in bounds
  }
  template <class T>
  static HostTensor of(DType t, Shape s, const std::vector<T>& v, Layout l = Layout::plain) {
    HostTensor h(t, std::move(s), l);
    REQUIRE(int64_t(v.size()) == num_elements(h.shape));
    std::memcpy(h.bytes.data(), v.data(), v.size() * sizeof(T));
    return h;
  }
  static HostTensor f32(Shape s, const std::vector<float>& v, Layout l = Layout::plain) {
    return of(DType::f32, std::move(s), v, l);
  }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(bytes.data());
  }
  template <class T>
  std::vector<T> values() const {
    std::vector<T> r(size_t(num_elements(shape)));
    std::memcpy(r.data(), bytes.data(), r.size() * sizeof(T));
    return r;
  }
  TensorView view() { return TensorView{dtype, shape, layout, bytes.data()}; }
};

/// One node under test.
class OpTest {
 public:
  explicit OpTest(const std::string& op, int64_t opset = 13, const std::string& domain = "") {
    g_.path = "test.onnx";
    g_.opsets[""] = opset;
    node_.name = "n0";
    node_.op_type = op;
    node_.domain = domain;
  }
  /// A run-time input.
  OpTest& input(const HostTensor& t) {
    int v = g_.add_value("in" + std::to_string(node_.inputs.size()), t.dtype);
    g_.values[v].set_shape(t.shape);
    g_.values[v].layout = t.layout;
    node_.inputs.push_back(v);
    inputs_.push_back(t);
    return *this;
  }
  /// A constant input (initializer).
  OpTest& constant(const HostTensor& t) {
    auto c = std::make_shared<Tensor>(t.dtype, t.shape);
    std::memcpy(c->data(), t.bytes.data(), c->bytes());
    int v = g_.add_constant("c" + std::to_string(node_.inputs.size()), c);
    node_.inputs.push_back(v);
    inputs_.push_back(t);
    return *this;
  }
  OpTest& absent() {
    node_.inputs.push_back(-1);
    inputs_.emplace_back();
    return *this;
  }
  OpTest& output(DType t, Shape s, Layout l = Layout::plain) {
    int v = g_.add_value("out" + std::to_string(node_.outputs.size()), t);
    g_.values[v].set_shape(s);
    g_.values[v].layout = l;
    node_.outputs.push_back(v);
    outputs_.emplace_back(t, s, l);
    return *this;
  }
  OpTest& attr_i(const std::string& k, int64_t v) {
    node_.attrs[k].kind = Attribute::Kind::i, node_.attrs[k].i = v;
    return *this;
  }
  OpTest& attr_f(const std::string& k, float v) {
    node_.attrs[k].kind = Attribute::Kind::f, node_.attrs[k].f = v;
    return *this;
  }
  OpTest& attr_ints(const std::string& k, std::vector<int64_t> v) {
    node_.attrs[k].kind = Attribute::Kind::ints, node_.attrs[k].ints = std::move(v);
    return *this;
  }
  OpTest& attr_floats(const std::string& k, std::vector<float> v) {
    node_.attrs[k].kind = Attribute::Kind::floats, node_.attrs[k].floats = std::move(v);
    return *this;
  }
  OpTest& attr_strings(const std::string& k, std::vector<std::string> v) {
    node_.attrs[k].kind = Attribute::Kind::strings, node_.attrs[k].strings = std::move(v);
    return *this;
  }
  OpTest& attr_s(const std::string& k, std::string v) {
    node_.attrs[k].kind = Attribute::Kind::s, node_.attrs[k].s = std::move(v);
    return *this;
  }

  /// The thread count the kernel is compiled for (KernelInfo::threads; 1 unless set).
  OpTest& threads(int n) {
    threads_ = n;
    return *this;
  }
  /// Creates the kernel for tier `isa` (throws what the factory throws).
  std::unique_ptr<Kernel> make(kernels::Isa isa = kernels::detected_isa()) {
    finish();
    KernelFactory f = KernelRegistry::instance().find(node_.domain, node_.op_type);
    REQUIRE_MESSAGE(bool(f), "no kernel registered for " << node_.op_type);
    KernelInfo info{g_, 0, isa, threads_};
    return f(info);
  }
  /// Runs the kernel; outputs land in out(i). `par` may be null.
  void run(const Kernel& k, kernels::Parallel* par = nullptr) {
    std::vector<TensorView> in, out;
    for (auto& t : inputs_) in.push_back(t.bytes.empty() ? TensorView{} : t.view());
    for (auto& t : outputs_) {
      std::fill(t.bytes.begin(), t.bytes.end(), 0xCD);  // poison: every output element must be written
      out.push_back(t.view());
    }
    std::vector<unsigned char> ws(k.workspace_bytes() + 64);
    ExecContext ctx;
    ctx.parallel = par;
    ctx.workspace = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
    k.run(ctx, in, out);
  }
  /// make + run in one step.
  HostTensor& run_on(kernels::Isa isa, kernels::Parallel* par = nullptr) {
    auto k = make(isa);
    run(*k, par);
    return outputs_[0];
  }
  HostTensor& out(int i = 0) { return outputs_[size_t(i)]; }
  HostTensor& in(int i) { return inputs_[size_t(i)]; }

 private:
  void finish() {
    if (g_.nodes.empty()) g_.add_node(node_);
  }
  Graph g_;
  Node node_;
  int threads_ = 1;
  std::vector<HostTensor> inputs_, outputs_;
};

inline std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// NCHW -> NHWC copy of a logical [n, c, h, w] tensor, and back.
template <class T>
std::vector<T> to_nhwc(const std::vector<T>& x, int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<T> y(x.size());
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < c; ++b)
      for (int64_t i = 0; i < h * w; ++i) y[size_t((a * h * w + i) * c + b)] = x[size_t((a * c + b) * h * w + i)];
  return y;
}
template <class T>
std::vector<T> from_nhwc(const std::vector<T>& y, int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<T> x(y.size());
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < c; ++b)
      for (int64_t i = 0; i < h * w; ++i) x[size_t((a * c + b) * h * w + i)] = y[size_t((a * h * w + i) * c + b)];
  return x;
}

/// Max of |got - want| / (atol/rtol + |want|)-style check: every element within atol + rtol * |want|.
inline void check_close(const std::vector<float>& got, const std::vector<float>& want, float rtol, float atol,
                        const std::string& what) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok = std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i]) ||
                    (std::isinf(want[i]) && got[i] == want[i]);
    if (!ok && bad++ == 0) first = i;
  }
  CHECK_MESSAGE(bad == 0, bad << " of " << got.size() << " elements differ (" << what << "); first at " << first
                                << ": got " << (bad ? got[first] : 0.f) << ", want " << (bad ? want[first] : 0.f));
}

}  // namespace octet::test
