// Shared by the C API and concurrency tests: only the public API (octet/octet.h) and ONNX's protobuf schema are
// used here, never engine headers, so these tests see octet exactly as an embedding program does.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "onnx/onnx.pb.h"

namespace embed_test {

inline const std::string kSource = OCTET_SOURCE_DIR;
inline const std::string kDemoModel = kSource + "/models/fmnist_resnet.onnx";

/// Fails the test with the status message when `st` is an error; frees it.
inline void require_ok(octet_status* st) {
  const std::string msg = octet_status_message(st);
  const octet_code code = octet_status_code(st);
  octet_status_free(st);
  REQUIRE_MESSAGE(code == OCTET_OK, msg);
}

/// The error's code and message; frees the status. (OCTET_OK, "") for success.
inline std::pair<octet_code, std::string> take(octet_status* st) {
  std::pair<octet_code, std::string> r{octet_status_code(st), octet_status_message(st)};
  octet_status_free(st);
  return r;
}

struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// A float TensorProto file (raw_data or float_data), as in tests/data/demo.
inline FloatTensor read_pb(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f, "cannot open " << path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  onnx::TensorProto t;
  REQUIRE_MESSAGE(t.ParseFromString(bytes), path << ": not a TensorProto");
  REQUIRE(t.data_type() == onnx::TensorProto::FLOAT);
  FloatTensor r;
  r.shape.assign(t.dims().begin(), t.dims().end());
  if (!t.raw_data().empty()) {
    r.data.resize(t.raw_data().size() / 4);
    std::memcpy(r.data.data(), t.raw_data().data(), r.data.size() * 4);
  } else {
    r.data.assign(t.float_data().begin(), t.float_data().end());
  }
  return r;
}

/// The sample images, models/images/<idx>_<label>.png, sorted by name, with their labels.
struct Sample {
  std::string path, label;  // label as in the file name: lower case, '/' written as '_'
};
inline std::vector<Sample> samples() {
  std::vector<Sample> r;
  for (const auto& e : std::filesystem::directory_iterator(kSource + "/models/images")) {
    const std::string name = e.path().stem().string();
    r.push_back({e.path().string(), name.substr(name.find('_') + 1)});
  }
  std::sort(r.begin(), r.end(), [](const Sample& a, const Sample& b) { return a.path < b.path; });
  REQUIRE(r.size() == 8);
  return r;
}

/// A model's class name written as in the sample file names ("T-shirt/top" -> "t-shirt_top").
inline std::string file_label(std::string s) {
  for (char& c : s) c = c == '/' ? '_' : char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Line `i` of a newline-separated list.
inline std::string line(const std::string& text, size_t i) {
  size_t start = 0;
  for (size_t k = 0; k < i; ++k) start = text.find('\n', start) + 1;
  return text.substr(start, text.find('\n', start) - start);
}

inline size_t argmax(const float* v, size_t n) { return size_t(std::max_element(v, v + n) - v); }

// ---- a Conv-free model: every op runs on octet's own kernels, none on oneDNN ----
//
// x [N,1,28,28] -> MaxPool 2x2/2 -> Flatten -> Gemm(W1 [H,196], b1, transB) -> Relu -> Gemm(W2 [10,H], b2, transB)
//   -> Softmax -> y [N,10]
struct Mlp {
  static constexpr int kIn = 196, kHidden = 512, kOut = 10;
  std::vector<float> w1, b1, w2, b2;
  std::string onnx;  // the serialized ModelProto

  Mlp() {
    uint32_t state = 12345;
    // A fixed LCG (Numerical Recipes' constants): the weights are the same on every run and machine.
    auto next = [&] {
      state = state * 1664525u + 1013904223u;
      return float(state >> 8) / float(1 << 24) - 0.5f;  // [-0.5, 0.5)
    };
    for (int i = 0; i < kHidden * kIn; ++i) w1.push_back(next() * 0.2f);
    for (int i = 0; i < kHidden; ++i) b1.push_back(next() * 0.1f);
    for (int i = 0; i < kOut * kHidden; ++i) w2.push_back(next() * 0.2f);
    for (int i = 0; i < kOut; ++i) b2.push_back(next() * 0.1f);
    onnx = build();
  }

  /// The naive reference, in double: y = softmax(W2 relu(W1 maxpool(x) + b1) + b2) per row.
  std::vector<double> reference(const float* x) const {
    std::vector<double> pooled(kIn), hidden(kHidden), logits(kOut);
    for (int i = 0; i < 14; ++i)
      for (int j = 0; j < 14; ++j)
        pooled[size_t(i * 14 + j)] = std::max({x[(2 * i) * 28 + 2 * j], x[(2 * i) * 28 + 2 * j + 1],
                                               x[(2 * i + 1) * 28 + 2 * j], x[(2 * i + 1) * 28 + 2 * j + 1]});
    for (int h = 0; h < kHidden; ++h) {
      double s = b1[size_t(h)];
      for (int k = 0; k < kIn; ++k) s += double(w1[size_t(h * kIn + k)]) * pooled[size_t(k)];
      hidden[size_t(h)] = std::max(s, 0.0);
    }
    double mx = -1e300, z = 0;
    for (int o = 0; o < kOut; ++o) {
      double s = b2[size_t(o)];
      for (int h = 0; h < kHidden; ++h) s += double(w2[size_t(o * kHidden + h)]) * hidden[size_t(h)];
      logits[size_t(o)] = s;
      mx = std::max(mx, s);
    }
    for (double& l : logits) z += l = std::exp(l - mx);
    for (double& l : logits) l /= z;
    return logits;
  }

 private:
  static void add_initializer(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims,
                              const std::vector<float>& v) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  }
  static onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                                   const std::string& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + out);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void add_ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void add_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void add_io(onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (d < 0) dim->set_dim_param("N");
      else dim->set_dim_value(d);
    }
  }

  std::string build() const {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("octet tests");
    m.add_opset_import()->set_version(13);
    auto* meta = m.add_metadata_props();
    meta->set_key("octet.resize");  // the 28x28 samples go in as they are (no resize and crop)
    meta->set_value("28");
    onnx::GraphProto* g = m.mutable_graph();
    g->set_name("mlp");
    add_io(g->add_input(), "x", {-1, 1, 28, 28});
    add_io(g->add_output(), "y", {-1, kOut});
    add_initializer(g, "w1", {kHidden, kIn}, w1);
    add_initializer(g, "b1", {kHidden}, b1);
    add_initializer(g, "w2", {kOut, kHidden}, w2);
    add_initializer(g, "b2", {kOut}, b2);
    onnx::NodeProto* pool = add_node(g, "MaxPool", {"x"}, "pooled");
    add_ints(pool, "kernel_shape", {2, 2});
    add_ints(pool, "strides", {2, 2});
    add_node(g, "Flatten", {"pooled"}, "flat");
    add_int(add_node(g, "Gemm", {"flat", "w1", "b1"}, "h"), "transB", 1);
    add_node(g, "Relu", {"h"}, "hr");
    add_int(add_node(g, "Gemm", {"hr", "w2", "b2"}, "logits"), "transB", 1);
    add_int(add_node(g, "Softmax", {"logits"}, "y"), "axis", 1);
    std::string bytes;
    REQUIRE(m.SerializeToString(&bytes));
    return bytes;
  }
};

}  // namespace embed_test
