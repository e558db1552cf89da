// Default-domain opset upgrade (see upgrade_opset.h). Each rewrite below is one ONNX definition change between
// opset 7 and 13, written as the equivalence it relies on; ops whose semantics did not change (Conv, pools, Gemm,
// element-wise math, Reshape, Concat, Gather, Reduce* other than ReduceSum, LSTM/GRU before 14's layout, ...)
// only get the new opset number.
#include "graph/upgrade_opset.h"

#include <limits>

namespace octet {

namespace {

class Upgrader {
 public:
  Upgrader(Graph& g, int64_t from, int64_t to) : g_(g), from_(from), to_(to) {}

  std::vector<std::string> run() {
    const size_t n = g_.nodes.size();  // nodes appended by rewrites are already in the target form
    for (size_t id = 0; id < n; ++id) {
      Node& node = g_.nodes[id];
      if (node.dead || !(node.domain.empty() || node.domain == "ai.onnx")) continue;
      if (std::string what = upgrade(int(id)); !what.empty())
        log_.push_back("'" + g_.nodes[id].name + "' (" + g_.nodes[id].op_type + "): " + what);
    }
    g_.opsets.erase("ai.onnx");
    g_.opsets[""] = to_;
    return log_;
  }

 private:
  // True when the op's definition changed at version `at` and the upgrade crosses it.
  bool crosses(int64_t at) const { return from_ < at && to_ >= at; }

  [[noreturn]] void unsupported(int id, const std::string& msg) const {
    throw Unsupported(g_.where(id) + ": cannot upgrade to opset " + std::to_string(to_) + ": " + msg);
  }

  std::string fresh_name(const std::string& base) const { return g_.unique_value_name(base); }

  int ints_constant(const std::string& base, const std::vector<int64_t>& v) {
    auto t = std::make_shared<Tensor>(DType::i64, Shape{int64_t(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t->as<int64_t>()[i] = v[i];
    return g_.add_constant(fresh_name(base), t);
  }
  int float_scalar(const std::string& base, float v) {
    auto t = std::make_shared<Tensor>(DType::f32, Shape{});
    t->as<float>()[0] = v;
    return g_.add_constant(fresh_name(base), t);
  }
  int floats_constant(const std::string& base, const std::vector<float>& v) {
    auto t = std::make_shared<Tensor>(DType::f32, Shape{int64_t(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t->as<float>()[i] = v[i];
    return g_.add_constant(fresh_name(base), t);
  }

  // Sets input slot i (growing the list with absent inputs) to value v.
  static void set_input(Node& n, size_t i, int v) {
    if (n.inputs.size() <= i) n.inputs.resize(i + 1, -1);
    n.inputs[i] = v;
  }

  // Moves an ints attribute into input slot i; returns whether it was present.
  bool ints_attr_to_input(int id, const char* attr, size_t slot) {
    Node& n = g_.nodes[id];
    if (!n.has_attr(attr)) return false;
    const std::vector<int64_t> v = n.attrs.at(attr).ints;
    n.attrs.erase(attr);
    const int c = ints_constant(n.name + "_" + attr, v);
    set_input(g_.nodes[id], slot, c);
    return true;
  }

  std::string upgrade(int id) {
    const std::string op = g_.nodes[id].op_type;
    // Squeeze-13, Unsqueeze-13, ReduceSum-13, Split-13: `axes` / `split` became a (constant) input.
    if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && crosses(13))
      return ints_attr_to_input(id, "axes", 1) ? "axes attribute -> input" : "";
    if (op == "Split" && crosses(13)) return ints_attr_to_input(id, "split", 1) ? "split attribute -> input" : "";
    if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && crosses(13)) return softmax(id);
    // Clip-11: min and max became optional inputs. Clip-6's defaults are the float range, as absent inputs.
    if (op == "Clip" && crosses(11)) {
      Node& n = g_.nodes[id];
      std::string what;
      for (auto [attr, slot] : {std::pair{"min", size_t(1)}, std::pair{"max", size_t(2)}}) {
        if (!n.has_attr(attr)) continue;
        const float v = n.attrs.at(attr).f;
        g_.nodes[id].attrs.erase(attr);
        const int c = float_scalar(g_.nodes[id].name + "_" + attr, v);
        set_input(g_.nodes[id], slot, c);
        what = "min/max attributes -> inputs";
      }
      return what;
    }
    // Pad-11: pads and the constant value became inputs (mode stays an attribute).
    if (op == "Pad" && crosses(11)) {
      if (!ints_attr_to_input(id, "pads", 1)) unsupported(id, "Pad has no pads attribute");
      Node& n = g_.nodes[id];
      if (n.has_attr("value")) {
        const float v = n.attrs.at("value").f;
        g_.nodes[id].attrs.erase("value");
        const int c = float_scalar(g_.nodes[id].name + "_value", v);
        set_input(g_.nodes[id], 2, c);
      }
      return "pads/value attributes -> inputs";
    }
    // Slice-10: starts, ends, axes became inputs (steps added, default 1).
    if (op == "Slice" && crosses(10)) {
      if (!ints_attr_to_input(id, "starts", 1) || !ints_attr_to_input(id, "ends", 2))
        unsupported(id, "Slice needs starts and ends attributes");
      ints_attr_to_input(id, "axes", 3);
      return "starts/ends/axes attributes -> inputs";
    }
    // TopK-10: k became an input ([1] int64).
    if (op == "TopK" && crosses(10)) {
      Node& n = g_.nodes[id];
      if (!n.has_attr("k")) unsupported(id, "TopK has no k attribute");
      const int64_t k = n.attrs.at("k").i;
      g_.nodes[id].attrs.erase("k");
      const int c = ints_constant(g_.nodes[id].name + "_k", {k});
      set_input(g_.nodes[id], 1, c);
      return "k attribute -> input";
    }
    if (op == "Upsample" && to_ >= 10) return upsample(id);
    if (op == "Resize" && crosses(11)) {
      // Resize-10 (X, scales) computes as Upsample: asymmetric coordinates x_in = x_out / scale, nearest by
      // floor. Resize-11 takes (X, roi, scales) and says so in attributes.
      Node& n = g_.nodes[id];
      const int scales = n.inputs.size() > 1 ? n.inputs[1] : -1;
      n.inputs = {n.inputs[0], -1, scales};
      resize_attrs(n, n.attr_s("mode", "nearest"));
      return "Resize-10 -> Resize-11 (asymmetric, nearest floor)";
    }
    // Dropout-12: ratio became an input; at inference it has no effect, so only the form changes.
    if (op == "Dropout" && crosses(12)) {
      Node& n = g_.nodes[id];
      if (!n.has_attr("ratio")) return "";
      const float r = n.attrs.at("ratio").f;
      g_.nodes[id].attrs.erase("ratio");
      const int c = float_scalar(g_.nodes[id].name + "_ratio", r);
      set_input(g_.nodes[id], 1, c);
      return "ratio attribute -> input";
    }
    // BatchNormalization-9 dropped `spatial` (always per channel).
    if (op == "BatchNormalization" && crosses(9) && g_.nodes[id].has_attr("spatial")) {
      if (g_.nodes[id].attr_i("spatial", 1) != 1) unsupported(id, "BatchNormalization with spatial = 0");
      g_.nodes[id].attrs.erase("spatial");
      return "spatial attribute dropped";
    }
    // Scatter was renamed ScatterElements at 11, same semantics.
    if (op == "Scatter" && crosses(11)) {
      g_.nodes[id].op_type = "ScatterElements";
      return "Scatter -> ScatterElements";
    }
    return "";
  }

  static void resize_attrs(Node& n, const std::string& mode) {
    Attribute ct;
    ct.kind = Attribute::Kind::s;
    ct.s = "asymmetric";
    n.attrs["coordinate_transformation_mode"] = ct;
    if (mode == "nearest") {
      Attribute nm;
      nm.kind = Attribute::Kind::s;
      nm.s = "floor";
      n.attrs["nearest_mode"] = nm;
    }
  }

  // Upsample (deprecated at 10) -> Resize(X, roi absent, scales). Upsample-7 has `scales` as an attribute,
  // Upsample-9 as input 1. Its modes "nearest" and "linear" ("bilinear" in some exporters) are Resize's with
  // asymmetric coordinates (x_in = x_out / scale) and, for nearest, floor.
  std::string upsample(int id) {
    Node& n = g_.nodes[id];
    std::string mode = n.attr_s("mode", "nearest");
    if (mode == "bilinear") mode = "linear";
    if (mode != "nearest" && mode != "linear") unsupported(id, "Upsample mode '" + mode + "'");
    int scales = n.inputs.size() > 1 ? n.inputs[1] : -1;
    if (scales < 0) {
      if (!n.has_attr("scales")) unsupported(id, "Upsample has neither a scales input nor attribute");
      const std::vector<float> s = n.attrs.at("scales").floats;
      scales = floats_constant(n.name + "_scales", s);
    }
    Node& u = g_.nodes[id];
    u.op_type = "Resize";
    u.attrs.clear();
    Attribute m;
    m.kind = Attribute::Kind::s;
    m.s = mode;
    u.attrs["mode"] = m;
    resize_attrs(u, mode);
    u.inputs = {u.inputs[0], -1, scales};
    return "Upsample -> Resize (" + mode + ", asymmetric" + (mode == "nearest" ? ", floor)" : ")");
  }

  // Softmax-13 normalises along one axis; before 13 the input was coerced to 2-D [prod(d[:axis]), prod(d[axis:])]
  // (axis default 1) and normalised along the second dim. The two agree when axis is the last dim; otherwise
  //   old(x, axis) = Reshape(new(Flatten(x, axis), axis = -1), Shape(x)).
  std::string softmax(int id) {
    Node& n = g_.nodes[id];
    const int64_t axis = n.attr_i("axis", 1);
    const Value& x = g_.values[n.inputs.at(0)];
    const int64_t rank = x.has_shape ? int64_t(x.dims.size()) : -1;
    if (rank >= 0 && (axis == rank - 1 || axis == -1)) {
      Attribute a;
      a.kind = Attribute::Kind::i;
      a.i = -1;
      n.attrs["axis"] = a;
      return "";
    }
    if (rank >= 0 && (axis < -rank || axis >= rank)) unsupported(id, "axis " + std::to_string(axis) + " out of range");
    const std::string base = n.name.empty() ? n.op_type : n.name;
    const int in = n.inputs[0], out = n.outputs.at(0);
    const DType dt = g_.values[out].dtype;
    const int shape = g_.add_value(fresh_name(base + "_shape"), DType::i64);
    const int flat = g_.add_value(fresh_name(base + "_2d"), dt);
    const int norm = g_.add_value(fresh_name(base + "_2d_out"), dt);
    Node sh;
    sh.name = fresh_node_name(base + "_shape");
    sh.op_type = "Shape";
    sh.inputs = {in};
    sh.outputs = {shape};
    Node fl;
    fl.name = fresh_node_name(base + "_flatten");
    fl.op_type = "Flatten";
    fl.inputs = {in};
    fl.outputs = {flat};
    Attribute a;
    a.kind = Attribute::Kind::i;
    a.i = axis;
    fl.attrs["axis"] = a;
    Node rs;
    rs.name = fresh_node_name(base + "_reshape");
    rs.op_type = "Reshape";
    rs.inputs = {norm, shape};
    rs.outputs = {out};
    g_.nodes[id].inputs[0] = flat;
    g_.nodes[id].outputs[0] = norm;
    g_.nodes[id].attrs["axis"].i = -1;
    g_.add_node(sh);
    g_.add_node(fl);
    g_.add_node(rs);
    return "2-D coercion at axis " + std::to_string(axis) + " -> Flatten, axis -1, Reshape";
  }

  std::string fresh_node_name(const std::string& base) const {
    auto taken = [&](const std::string& s) {
      for (const Node& n : g_.nodes)
        if (n.name == s) return true;
      return false;
    };
    if (!taken(base)) return base;
    for (int i = 2;; ++i)
      if (std::string s = base + "_" + std::to_string(i); !taken(s)) return s;
  }

  Graph& g_;
  const int64_t from_, to_;
  std::vector<std::string> log_;
};

}  // namespace

std::vector<std::string> upgrade_default_opset(Graph& g, int64_t target) {
  const int64_t from = g.opset("");
  if (from >= target) return {};
  return Upgrader(g, from, target).run();
}

}  // namespace octet
