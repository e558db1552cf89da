// lower_qdq: QDQ patterns and QOperator ops become octet's fused int8 ops (domain "octet"), so u8 tensors flow
// from kernel to kernel with no float round trip inside an int8 chain. Each call performs one rewrite, tried in
// this order:
//
//  1. QOperator -> internal op, same inputs: QLinearConv -> QConv, QLinearMatMul -> QGemm,
//     com.microsoft QLinearAdd -> QAdd, QLinearGlobalAveragePool -> QGlobalAveragePool.
//  2. DQ pushed below data movement: op(DQ(x)) = DQ(op(x)) for Flatten, Reshape (they move elements) and
//     MaxPool (per-tensor DQ is x -> s * (x - z) with s > 0, monotonic, so max commutes with it): the op then
//     runs on u8 (MaxPool as QMaxPool) and the DQ moves below it, where the next pattern may absorb it.
//  3. Q(DQ(x)) with the same scale (bit-equal), zero point and type is x: the pair disappears.
//  4. Conv: Q_y(act(Conv(DQ(x), DQ(w), bias) [+ DQ(r)])) -> QConv(x, s_x, z_x, w, s_w, 0, s_y, z_y, b', r, s_r, z_r)
//     where act (Relu/Clip, fused by fuse_activation) and the residual (fused by fuse_residual) become the
//     epilogue clamp and the in-register add. The bias must be int32 on the scale s_x * s_w[j]:
//       b'[j] = b[j]                                         when DQ(b) has that scale (the standard layout)
//       b'[j] = round(real_b[j] / (s_x * s_w[j]))            otherwise (float bias or another scale)
//  5. Gemm / MatMul with DQ'd u8 input and DQ'd constant s8 weights -> QGemm; u8 output when a Q follows,
//     else the dequantized float output (y = s_a * s_w[j] * acc, the f32 epilogue): the classifier at the end.
//  6. Q(act(Add(DQ(a), DQ(b)))) with a, b and the output of one shape -> QAdd (act: Relu/Clip clamp).
//  7. Q(GlobalAveragePool(DQ(x))) -> QGlobalAveragePool.
//  8. QConv (no residual, no activation) whose u8 output only a QAdd reads -> one QConv with the QAdd's other
//     input as a two-stage residual (inputs 12/13 = the conv's own output scale and zero point): the conv's
//     requantization and the add run in the conv's epilogue, bit-identical to the two ops (kernels/qgemm/qgemm.h),
//     and the conv's output never goes to memory. ResNet's and MobileNetV2's residual adds in a QDQ model.
// Conditions everywhere: activations u8 per tensor, weights s8 per output channel (zero point 0), scales and
// zero points constant, and each absorbed float value read only by the pattern (not a graph output). What does
// not match stays as QuantizeLinear / DequantizeLinear / float ops: correct, only slower; after the passes the
// engine folds DQ of constants on such float paths.
#include <cmath>
#include <cstring>

#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

bool is_octet(const Node& n, const char* op) { return !n.dead && n.domain == "octet" && n.op_type == op; }

// A quantized tensor as a DQ reads it: q (the integer value), its scale and zero point value ids (zp may be -1).
struct QRef {
  int q = -1, scale = -1, zp = -1, node = -1;
};

const Tensor* const_of(const Graph& g, int v) { return v >= 0 ? g.values[v].constant.get() : nullptr; }

// The DQ node producing value v, if any.
int dq_producer(const Graph& g, int v) {
  if (v < 0) return -1;
  const int p = g.values[v].producer;
  return p >= 0 && is_op(g.nodes[p], "DequantizeLinear") ? p : -1;
}

// Scale (f32) and zero point of a Q/DQ node are constants; the scale has `n` elements (1: per tensor) all > 0;
// the zero point, when present, has type t and 1 or n elements.
bool params_ok(const Graph& g, const Node& n, DType t, int64_t channels) {
  const Tensor* s = const_of(g, input_or_none(n, 1));
  if (!s || s->dtype() != DType::f32 || (s->numel() != 1 && s->numel() != channels)) return false;
  for (int64_t i = 0; i < s->numel(); ++i)
    if (!(s->as<float>()[i] > 0) || !std::isfinite(s->as<float>()[i])) return false;
  const int zv = input_or_none(n, 2);
  if (zv < 0) return t == DType::u8;
  const Tensor* z = const_of(g, zv);
  return z && z->dtype() == t && (z->numel() == 1 || z->numel() == s->numel());
}

// v is DQ(x) with x u8 (computed at run time), per tensor.
bool dq_u8(const Graph& g, int v, QRef& r) {
  const int p = dq_producer(g, v);
  if (p < 0) return false;
  const Node& n = g.nodes[p];
  const int x = n.inputs[0];
  if (g.values[x].dtype != DType::u8 || g.values[x].constant || !params_ok(g, n, DType::u8, 1)) return false;
  r = QRef{x, n.inputs[1], input_or_none(n, 2), p};
  return true;
}

float scalar_f32(const Graph& g, int v) { return *g.values[v].constant->as<float>(); }
int32_t zp_value(const Graph& g, int v) {
  if (v < 0) return 0;
  const Tensor* t = const_of(g, v);
  return t->dtype() == DType::u8 ? int32_t(*t->as<uint8_t>()) : int32_t(*t->as<int8_t>());
}

// Constant s8 weights behind a DQ with per-output-channel (axis `axis` of size n) or per-tensor scales and zero
// points all 0. Fills per-channel scales.
bool dq_weight(const Graph& g, int v, int axis, int64_t n, QRef& r, std::vector<float>& scales) {
  const int p = dq_producer(g, v);
  if (p < 0) return false;
  const Node& d = g.nodes[p];
  const Tensor* w = const_of(g, d.inputs[0]);
  if (!w || w->dtype() != DType::i8 || !params_ok(g, d, DType::i8, n)) return false;
  const Tensor* s = const_of(g, d.inputs[1]);
  if (s->numel() > 1) {
    int64_t a = d.attr_i("axis", 1);
    if (a < 0) a += int64_t(w->shape().size());
    if (a != axis) return false;
  }
  if (const Tensor* z = const_of(g, input_or_none(d, 2)))
    for (int64_t i = 0; i < z->numel(); ++i)
      if (z->as<int8_t>()[i] != 0) return false;
  scales.assign(size_t(n), s->as<float>()[0]);
  if (s->numel() == n) scales.assign(s->as<float>(), s->as<float>() + n);
  r = QRef{d.inputs[0], d.inputs[1], input_or_none(d, 2), p};
  return true;
}

// The int32 bias on scale s_x * s_w[j] for bias value b (absent, DQ(int32 const) or f32 const); -1 on absent,
// -2 when it cannot be used.
// `add` false: only ask whether the bias is usable (no constant is added; a usable requantized bias returns 0).
int int32_bias(Graph& g, int b, float sx, const std::vector<float>& sw, const std::string& name, bool add = true) {
  if (b < 0) return -1;
  const size_t n = sw.size();
  std::vector<double> real(n);
  const int p = dq_producer(g, b);
  if (p >= 0) {
    const Node& d = g.nodes[p];
    const Tensor* bt = const_of(g, d.inputs[0]);
    if (!bt || bt->dtype() != DType::i32 || size_t(bt->numel()) != n) return -2;
    const Tensor* s = const_of(g, d.inputs[1]);
    const Tensor* z = const_of(g, input_or_none(d, 2));
    if (!s || s->dtype() != DType::f32 || (s->numel() != 1 && size_t(s->numel()) != n)) return -2;
    if (input_or_none(d, 2) >= 0 && (!z || z->dtype() != DType::i32)) return -2;
    bool same_scale = true;
    for (size_t j = 0; j < n; ++j) {
      const float sb = s->as<float>()[s->numel() == 1 ? 0 : j];
      const int32_t zb = z ? z->as<int32_t>()[z->numel() == 1 ? 0 : j] : 0;
      same_scale &= zb == 0 && std::fabs(double(sb) - double(sx * sw[j])) <= 1e-6 * double(sx * sw[j]);
      real[j] = double(int64_t(bt->as<int32_t>()[j]) - zb) * double(sb);
    }
    if (same_scale) return d.inputs[0];
  } else if (const Tensor* bf = f32_constant(g, b); bf && size_t(bf->numel()) == n) {
    for (size_t j = 0; j < n; ++j) real[j] = double(bf->as<float>()[j]);
  } else {
    return -2;
  }
  auto t = std::make_shared<Tensor>(DType::i32, Shape{int64_t(n)});
  for (size_t j = 0; j < n; ++j) {
    const double q = std::nearbyint(real[j] / double(sx * sw[j]));
    if (std::fabs(q) > 2147483647.0) return -2;
    t->as<int32_t>()[j] = int32_t(q);
  }
  return add ? g.add_constant(unique_value_name(g, name + "_bias_i32"), t) : 0;
}

// The only reader of value v is a per-tensor u8 QuantizeLinear (and v is not a graph output): its node id.
int single_q_reader(const Graph& g, const std::vector<std::vector<int>>& cons, int v) {
  if (g.is_output(v) || cons[v].size() != 1) return -1;
  const int q = cons[v][0];
  const Node& n = g.nodes[q];
  if (!is_op(n, "QuantizeLinear") || n.inputs[0] != v || g.values[n.outputs[0]].dtype != DType::u8) return -1;
  return params_ok(g, n, DType::u8, 1) ? q : -1;
}

bool act_ok(const Fusion& f) { return f.activation.empty() || f.activation == "Relu" || f.activation == "Clip"; }

// Graph::consumers() costs a pass over every node and one list per value. The pass driver calls each matcher
// once per rewrite anywhere in the pipeline (about 150 times for ResNet-50 INT8), mostly when the matcher's op
// no longer occurs, so a matcher computes the lists only once it meets a candidate node. The graph does not
// change between that point and the matcher's return, so one computation per call stays exact.
class LazyConsumers {
 public:
  explicit LazyConsumers(const Graph& g) : g_(g) {}
  const std::vector<std::vector<int>>& operator*() {
    if (!done_) {
      c_ = g_.consumers();
      done_ = true;
    }
    return c_;
  }

 private:
  const Graph& g_;
  std::vector<std::vector<int>> c_;
  bool done_ = false;
};

// Replaces `old_node` (and the Q node `q`, when >= 0) by `n`, which writes `out`.
void install(Graph& g, Node n, int out, const std::vector<int>& dead) {
  for (int d : dead) {
    g.nodes[d].dead = true;
    for (int o : g.nodes[d].outputs)
      if (o >= 0 && g.values[o].producer == d) g.values[o].producer = -1;
  }
  n.outputs = {out};
  g.add_node(std::move(n));
}

// ---- 1. QOperator ops ------------------------------------------------------------------------------------------

bool rename_qoperator(Graph& g, std::string* note) {
  for (Node& n : g.nodes) {
    if (n.dead) continue;
    const char* to = nullptr;
    if (is_op(n, "QLinearConv")) to = "QConv";
    else if (is_op(n, "QLinearMatMul")) to = "QGemm";
    else if (n.domain == "com.microsoft" && n.op_type == "QLinearAdd") to = "QAdd";
    else if (n.domain == "com.microsoft" && n.op_type == "QLinearGlobalAveragePool") to = "QGlobalAveragePool";
    if (!to) continue;
    // Only what the int8 kernels run: u8 activations, constant s8 weights (the checks of the kernel factories).
    if (g.values[n.inputs[0]].dtype != DType::u8) continue;
    if (std::string(to) == "QConv" || std::string(to) == "QGemm") {
      const Tensor* w = const_of(g, n.inputs[3]);
      if (!w || w->dtype() != DType::i8) continue;
      if (std::string(to) == "QGemm" && w->shape().size() != 2) continue;
    }
    if (std::string(to) == "QGlobalAveragePool" && n.attr_i("channels_last", 0) != 0) continue;
    if (note) *note = "lower_qdq: '" + n.name + "' (" + n.op_type + ") -> " + to;
    n.op_type = to;
    n.domain = "octet";
    return true;
  }
  return false;
}

// ---- 2. DQ below data movement ---------------------------------------------------------------------------------

bool push_dq_down(Graph& g, std::string* note) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& op = g.nodes[i];
    const bool pool = is_op(op, "MaxPool");
    if (!pool && !is_op(op, "Flatten") && !is_op(op, "Reshape")) continue;
    if (op.outputs.size() != 1 || op.outputs[0] < 0) continue;
    QRef r;
    if (!dq_u8(g, op.inputs[0], r)) continue;
    if (pool && g.values[op.inputs[0]].dims.size() != 4) continue;
    const int y = op.outputs[0];
    const int yq = g.add_value(unique_value_name(g, g.values[y].name + "_u8"), DType::u8);
    g.values[yq].set_shape(g.values[y].shape());
    Node moved = op;
    moved.inputs[0] = r.q;
    if (pool) moved.op_type = "QMaxPool", moved.domain = "octet";
    const std::string what = op.name + "' (" + op.op_type + ")";
    install(g, moved, yq, {int(i)});
    Node dq = g.nodes[r.node];
    dq.name = g.values[y].name + "_dq";
    dq.inputs[0] = yq;
    dq.fusion = Fusion{};
    dq.outputs = {y};
    g.add_node(std::move(dq));
    if (note) *note = "lower_qdq: DequantizeLinear moved below '" + what + (pool ? " (now QMaxPool on u8)" : "");
    return true;
  }
  return false;
}

// ---- 3. Q(DQ(x)) = x ---------------------------------------------------------------------------------------------

bool same_params(const Graph& g, const Node& a, const Node& b) {
  const Tensor* sa = const_of(g, a.inputs[1]);
  const Tensor* sb = const_of(g, b.inputs[1]);
  if (!sa || !sb || sa->numel() != 1 || sb->numel() != 1) return false;
  if (std::memcmp(sa->data(), sb->data(), sizeof(float)) != 0) return false;
  const int za = input_or_none(a, 2), zb = input_or_none(b, 2);
  return (za < 0 ? 0 : zp_value(g, za)) == (zb < 0 ? 0 : zp_value(g, zb));
}

bool remove_q_dq_pair(Graph& g, std::string* note) {
  for (Node& q : g.nodes) {
    if (!is_op(q, "QuantizeLinear") || g.is_output(q.outputs[0])) continue;
    QRef r;
    if (!dq_u8(g, q.inputs[0], r) || g.values[q.outputs[0]].dtype != DType::u8) continue;
    if (!params_ok(g, q, DType::u8, 1) || !same_params(g, q, g.nodes[r.node])) continue;
    q.dead = true;
    g.replace_uses(q.outputs[0], r.q);
    if (note) *note = "lower_qdq: '" + q.name + "' (QuantizeLinear) of a DequantizeLinear with the same parameters removed";
    return true;
  }
  return false;
}

// ---- 4. Conv -----------------------------------------------------------------------------------------------------

// Why the DQ -> Conv -> Q pattern around node i does not hold ("" when it does), with its parts filled in.
struct ConvMatch {
  QRef x, w, res;
  std::vector<float> sw;
  int q = -1;
};

std::string output_blocker(const Graph& g, const std::vector<std::vector<int>>& cons, int v) {
  if (g.is_output(v)) return "its output '" + g.values[v].name + "' is a graph output (float)";
  if (cons[v].size() != 1)
    return "its output '" + g.values[v].name + "' has " + std::to_string(cons[v].size()) +
           " readers (the int8 form needs exactly one QuantizeLinear)";
  const Node& r = g.nodes[cons[v][0]];
  if (!is_op(r, "QuantizeLinear")) return "its output is read by '" + r.name + "' (" + r.op_type + "), not a QuantizeLinear";
  return "its output's QuantizeLinear '" + r.name + "' is not per-tensor u8 with constant scale and zero point";
}

std::string input_blocker(const Graph& g, int v, const char* what) {
  const int p = dq_producer(g, v);
  if (p < 0) return std::string(what) + " '" + g.values[v].name + "' is not the output of a DequantizeLinear";
  const int x = g.nodes[p].inputs[0];
  if (g.values[x].dtype != DType::u8)
    return std::string(what) + " is " + dtype_name(g.values[x].dtype) + " (octet's int8 kernels take u8 activations)";
  return std::string(what) + "'s DequantizeLinear '" + g.nodes[p].name + "' is not per-tensor with a constant scale";
}

std::string match_conv(const Graph& g, const std::vector<std::vector<int>>& cons, int i, ConvMatch& m) {
  const Node& conv = g.nodes[i];
  if (conv.outputs.size() != 1) return "more than one output";
  if (!act_ok(conv.fusion)) return "fused activation " + conv.fusion.activation + " has no int8 epilogue (Relu, Clip have)";
  m.q = single_q_reader(g, cons, conv.outputs[0]);
  if (m.q < 0) return output_blocker(g, cons, conv.outputs[0]);
  if (!dq_u8(g, conv.inputs[0], m.x)) return input_blocker(g, conv.inputs[0], "input");
  const size_t rank = g.values[conv.inputs[0]].dims.size();
  if (rank != 3 && rank != 4) return "input rank " + std::to_string(rank) + " (int8 conv is 1-D or 2-D)";
  const int64_t oc = g.values[conv.outputs[0]].shape()[1];
  if (!dq_weight(g, conv.inputs[1], 0, oc, m.w, m.sw))
    return "weights are not a constant s8 tensor behind a DequantizeLinear per output channel (axis 0) or per "
           "tensor with zero point 0";
  const int rin = conv.fusion.residual_input;
  if (rin >= 0 && !dq_u8(g, conv.inputs[size_t(rin)], m.res)) return input_blocker(g, conv.inputs[size_t(rin)], "residual");
  return "";
}

bool lower_conv(Graph& g, std::string* note) {
  LazyConsumers cons(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_op(g.nodes[i], "Conv")) continue;
    ConvMatch m;
    if (!match_conv(g, *cons, int(i), m).empty()) continue;
    const Node& c = g.nodes[i];  // int32_bias below grows g.values, never g.nodes
    const int bias = int32_bias(g, input_or_none(c, 2), scalar_f32(g, m.x.scale), m.sw, c.name);
    if (bias == -2) continue;
    const Node& q = g.nodes[m.q];
    Node n;
    n.name = c.name;
    n.op_type = "QConv";
    n.domain = "octet";
    n.attrs = c.attrs;
    n.fusion = c.fusion;
    n.inputs = {m.x.q, m.x.scale, m.x.zp, m.w.q, m.w.scale, m.w.zp, q.inputs[1], input_or_none(q, 2), bias};
    if (c.fusion.residual_input >= 0) {
      n.fusion.residual_input = 9;
      n.inputs.insert(n.inputs.end(), {m.res.q, m.res.scale, m.res.zp});
    }
    add_part(n, q);
    const int out = q.outputs[0];
    if (note) *note = "lower_qdq: '" + c.name + "' (Conv) + '" + q.name + "' -> QConv";
    install(g, std::move(n), out, {int(i), m.q});
    return true;
  }
  return false;
}

// ---- 5. Gemm / MatMul --------------------------------------------------------------------------------------------

struct GemmMatch {
  QRef a, w;
  std::vector<float> sw;
  bool trans_b = false;
  int64_t n_out = 0;
  int q = -1;  // -1: float output
};

std::string match_gemm(const Graph& g, const std::vector<std::vector<int>>& cons, int i, GemmMatch& m) {
  const Node& op = g.nodes[i];
  const bool gemm = is_op(op, "Gemm");
  if (op.outputs.size() != 1) return "more than one output";
  if (!act_ok(op.fusion)) return "fused activation " + op.fusion.activation + " has no int8 epilogue (Relu, Clip have)";
  if (op.fusion.residual_input >= 0) return "a fused residual add (no int8 gemm epilogue for it)";
  if (gemm && (op.attr_i("transA", 0) != 0 || op.attr_f("alpha", 1.f) != 1.f || op.attr_f("beta", 1.f) != 1.f))
    return "transA, alpha or beta other than the defaults";
  m.trans_b = gemm && op.attr_i("transB", 0) != 0;
  if (!dq_u8(g, op.inputs[0], m.a)) return input_blocker(g, op.inputs[0], "input A");
  const Tensor* wt = nullptr;
  if (const int p = dq_producer(g, op.inputs[1]); p >= 0) wt = const_of(g, g.nodes[p].inputs[0]);
  if (!wt || wt->shape().size() != 2) return "input B is not a constant 2-D tensor behind a DequantizeLinear";
  m.n_out = m.trans_b ? wt->shape()[0] : wt->shape()[1];
  if (!dq_weight(g, op.inputs[1], m.trans_b ? 0 : 1, m.n_out, m.w, m.sw))
    return "input B is not s8 per output column (or per tensor) with zero point 0";
  if (!gemm && g.values[op.inputs[0]].dims.size() < 2) return "1-D input A";
  if (gemm && input_or_none(op, 2) >= 0) {
    const Shape cs = g.values[op.inputs[2]].shape();
    if (num_elements(cs) != m.n_out || (cs.size() == 2 && cs[0] != 1)) return "C is not one bias per output column";
  }
  m.q = single_q_reader(g, cons, op.outputs[0]);
  if (m.q < 0 && !op.fusion.activation.empty())
    return "a fused activation with a float output (needs a QuantizeLinear after it)";
  return "";
}

bool lower_gemm(Graph& g, std::string* note) {
  LazyConsumers cons(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_op(g.nodes[i], "Gemm") && !is_op(g.nodes[i], "MatMul")) continue;
    GemmMatch m;
    if (!match_gemm(g, *cons, int(i), m).empty()) continue;
    const Node& op = g.nodes[i];  // int32_bias below grows g.values, never g.nodes
    int bias = -1;
    if (is_op(op, "Gemm") && input_or_none(op, 2) >= 0) {
      bias = int32_bias(g, op.inputs[2], scalar_f32(g, m.a.scale), m.sw, op.name);
      if (bias == -2) continue;
    }
    const int qn = m.q;
    Node n;
    n.name = op.name;
    n.op_type = "QGemm";
    n.domain = "octet";
    n.fusion = op.fusion;
    n.attrs["transB"].kind = Attribute::Kind::i;
    n.attrs["transB"].i = m.trans_b ? 1 : 0;
    n.inputs = {m.a.q, m.a.scale, m.a.zp, m.w.q, m.w.scale, m.w.zp, qn >= 0 ? g.nodes[qn].inputs[1] : -1,
                qn >= 0 ? input_or_none(g.nodes[qn], 2) : -1, bias};
    int out = op.outputs[0];
    std::vector<int> dead{int(i)};
    if (qn >= 0) {
      add_part(n, g.nodes[qn]);
      out = g.nodes[qn].outputs[0];
      dead.push_back(qn);
    }
    if (note) *note = "lower_qdq: '" + op.name + "' (" + op.op_type + ") -> QGemm" + (qn >= 0 ? "" : " (float output)");
    install(g, std::move(n), out, dead);
    return true;
  }
  return false;
}

// ---- 6. Add ------------------------------------------------------------------------------------------------------

struct AddMatch {
  QRef a, b;
  int act = -1, q = -1;
};

std::string match_add(const Graph& g, const std::vector<std::vector<int>>& cons, int i, AddMatch& m) {
  const Node& add = g.nodes[i];
  if (add.num_inputs() != 2 || add.outputs.size() != 1) return "not a two-input Add";
  // Optional Relu between the Add and the Q.
  int v = add.outputs[0];
  if (!g.is_output(v) && cons[v].size() == 1 && is_op(g.nodes[cons[v][0]], "Relu")) {
    m.act = cons[v][0];
    v = g.nodes[m.act].outputs[0];
  }
  m.q = single_q_reader(g, cons, v);
  if (m.q < 0) return output_blocker(g, cons, v);
  if (!dq_u8(g, add.inputs[0], m.a)) return input_blocker(g, add.inputs[0], "input A");
  if (!dq_u8(g, add.inputs[1], m.b)) return input_blocker(g, add.inputs[1], "input B");
  const Shape y = g.values[add.outputs[0]].shape();
  if (g.values[m.a.q].shape() != y || g.values[m.b.q].shape() != y)
    return "a broadcasting add (int8 add takes two inputs of the output's shape)";
  return "";
}

bool lower_add(Graph& g, std::string* note) {
  LazyConsumers cons(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_op(g.nodes[i], "Add")) continue;
    AddMatch m;
    if (!match_add(g, *cons, int(i), m).empty()) continue;
    const Node& add = g.nodes[i];
    const Node& q = g.nodes[m.q];
    Node n;
    n.name = add.name;
    n.op_type = "QAdd";
    n.domain = "octet";
    if (m.act >= 0) n.fusion.activation = "Relu";
    n.inputs = {m.a.q, m.a.scale, m.a.zp, m.b.q, m.b.scale, m.b.zp, q.inputs[1], input_or_none(q, 2)};
    std::vector<int> dead{int(i), m.q};
    if (m.act >= 0) add_part(n, g.nodes[m.act]), dead.push_back(m.act);
    add_part(n, q);
    const int out = q.outputs[0];
    if (note) *note = "lower_qdq: '" + add.name + "' (Add) + '" + q.name + "' -> QAdd";
    install(g, std::move(n), out, dead);
    return true;
  }
  return false;
}

// ---- 7. GlobalAveragePool ----------------------------------------------------------------------------------------

std::string match_global_pool(const Graph& g, const std::vector<std::vector<int>>& cons, int i, QRef& x, int& qn) {
  const Node& pool = g.nodes[i];
  if (pool.outputs.size() != 1) return "more than one output";
  qn = single_q_reader(g, cons, pool.outputs[0]);
  if (qn < 0) return output_blocker(g, cons, pool.outputs[0]);
  if (!dq_u8(g, pool.inputs[0], x)) return input_blocker(g, pool.inputs[0], "input");
  return "";
}

bool lower_global_pool(Graph& g, std::string* note) {
  LazyConsumers cons(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_op(g.nodes[i], "GlobalAveragePool")) continue;
    QRef x;
    int qn = -1;
    if (!match_global_pool(g, *cons, int(i), x, qn).empty()) continue;
    const Node& pool = g.nodes[i];
    const Node& q = g.nodes[qn];
    Node n;
    n.name = pool.name;
    n.op_type = "QGlobalAveragePool";
    n.domain = "octet";
    n.inputs = {x.q, x.scale, x.zp, q.inputs[1], input_or_none(q, 2)};
    add_part(n, q);
    const int out = q.outputs[0];
    if (note) *note = "lower_qdq: '" + pool.name + "' (GlobalAveragePool) + '" + q.name + "' -> QGlobalAveragePool";
    install(g, std::move(n), out, {int(i), qn});
    return true;
  }
  return false;
}

// ---- 8. QConv -> QAdd ---------------------------------------------------------------------------------------------

bool fuse_qconv_qadd(Graph& g, std::string* note) {
  LazyConsumers lazy(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& conv = g.nodes[i];
    if (!is_octet(conv, "QConv") || conv.fusion.residual_input >= 0 || !conv.fusion.activation.empty()) continue;
    if (conv.inputs.size() < 8 || conv.num_inputs() > 9 || conv.outputs.size() != 1) continue;
    const int v = conv.outputs[0];
    const auto& cons = *lazy;
    if (g.is_output(v) || cons[v].size() != 1) continue;
    const int ai = cons[v][0];
    const Node& add = g.nodes[ai];
    if (!is_octet(add, "QAdd") || add.inputs.size() < 8) continue;
    const bool conv_is_a = add.inputs[0] == v;
    if (!conv_is_a && add.inputs[3] != v) continue;
    if (add.inputs[0] == add.inputs[3]) continue;  // x + x: nothing to take from memory
    const int other = conv_is_a ? 3 : 0, mine = conv_is_a ? 0 : 3;
    // The add must read the conv's output with the parameters it was written with (Q and DQ of one tensor share
    // them in every layout we know; a file that does not is left as two ops).
    const Tensor* s1 = const_of(g, conv.inputs[6]);
    const Tensor* sa = const_of(g, add.inputs[size_t(mine) + 1]);
    if (!s1 || !sa || s1->numel() != 1 || sa->numel() != 1 || *s1->as<float>() != *sa->as<float>()) continue;
    if (zp_value(g, input_or_none(conv, 7)) != zp_value(g, input_or_none(add, size_t(mine) + 2))) continue;
    Node n = conv;
    n.inputs.resize(9, -1);
    n.inputs[6] = add.inputs[6];
    n.inputs[7] = add.inputs[7];
    n.inputs.insert(n.inputs.end(), {add.inputs[size_t(other)], add.inputs[size_t(other) + 1],
                                     add.inputs[size_t(other) + 2], conv.inputs[6], conv.inputs[7]});
    n.fusion.residual_input = 9;
    n.fusion.activation = add.fusion.activation;
    n.fusion.parts.push_back(add.name);
    for (const std::string& p : add.fusion.parts) n.fusion.parts.push_back(p);
    const int out = add.outputs[0];
    if (note) *note = "lower_qdq: '" + add.name + "' (QAdd) into '" + conv.name + "' (QConv) as a two-stage residual";
    install(g, std::move(n), out, {int(i), ai});
    return true;
  }
  return false;
}

// ---- why a node stayed float ---------------------------------------------------------------------------------------

// The reason node i of a quantized graph runs in float after lowering ("" when there is nothing to say).
std::string float_reason(Graph& g, const std::vector<std::vector<int>>& cons, int i) {
  const Node& n = g.nodes[i];
  if (n.domain == "octet" && n.op_type.size() > 1 && n.op_type[0] == 'Q') return "";  // lowered
  if (is_op(n, "QuantizeLinear")) return "the start of an int8 chain";
  if (is_op(n, "DequantizeLinear")) {
    const int v = n.outputs[0];
    if (g.values[n.inputs[0]].constant) return "";  // a constant: folded before the run
    if (g.is_output(v)) return "the end of an int8 chain: its output is a graph output";
    std::string readers;
    for (int r : cons[v]) readers += (readers.empty() ? "" : ", ") + g.nodes[r].op_type;
    return "the end of an int8 chain: read by " + readers;
  }
  if (is_op(n, "Conv")) {
    ConvMatch m;
    std::string why = match_conv(g, cons, i, m);
    if (why.empty()) {
      if (int32_bias(g, input_or_none(n, 2), scalar_f32(g, m.x.scale), m.sw, n.name, false) == -2)
        why = "the bias is neither int32 on scale s_x * s_w nor a float constant (or overflows int32)";
    }
    return why;
  }
  if (is_op(n, "Gemm") || is_op(n, "MatMul")) {
    GemmMatch m;
    std::string why = match_gemm(g, cons, i, m);
    if (why.empty() && is_op(n, "Gemm") && input_or_none(n, 2) >= 0) {
      if (int32_bias(g, n.inputs[2], scalar_f32(g, m.a.scale), m.sw, n.name, false) == -2)
        why = "the bias is neither int32 on scale s_a * s_w nor a float constant (or overflows int32)";
    }
    return why;
  }
  if (is_op(n, "Add")) {
    AddMatch m;
    return match_add(g, cons, i, m);
  }
  if (is_op(n, "GlobalAveragePool")) {
    QRef x;
    int qn = -1;
    return match_global_pool(g, cons, i, x, qn);
  }
  if (is_op(n, "MaxPool") || is_op(n, "Flatten") || is_op(n, "Reshape"))
    return input_blocker(g, n.inputs[0], "input") + " (it runs on u8 when its input is DequantizeLinear of u8)";
  return "octet has no int8 form of " + n.op_type;
}

}  // namespace

bool pass_lower_qdq(Graph& g, std::string* note) {
  return rename_qoperator(g, note) || push_dq_down(g, note) || remove_q_dq_pair(g, note) || lower_conv(g, note) ||
         lower_gemm(g, note) || lower_add(g, note) || lower_global_pool(g, note) || fuse_qconv_qadd(g, note);
}

void explain_float_nodes(Graph& g) {
  bool quantized = false;
  for (const Node& n : g.nodes)
    quantized |= !n.dead && (is_op(n, "QuantizeLinear") || is_op(n, "DequantizeLinear") || n.domain == "octet");
  if (!quantized) return;
  const auto cons = g.consumers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (n.dead || n.outputs.empty() || n.outputs[0] < 0) continue;
    const DType out = g.values[n.outputs[0]].dtype;
    if (out != DType::f32 && !is_op(n, "QuantizeLinear")) continue;
    if (n.op_type == "Reorder") continue;
    const std::string why = float_reason(g, cons, int(i));
    if (why.empty()) continue;
    if (is_op(n, "QuantizeLinear")) n.note = "float -> u8: " + why;
    else if (is_op(n, "DequantizeLinear")) n.note = "u8 -> float: " + why;
    else n.note = "stays float: " + why;
  }
}

// ---- layouts of the int8 ops (used by assign_layouts) -------------------------------------------------------------

bool quant_layout_op(const Node& n) {
  if (n.dead) return false;
  if (is_op(n, "QuantizeLinear") || is_op(n, "DequantizeLinear")) return true;
  return is_octet(n, "QConv") || is_octet(n, "QAdd") || is_octet(n, "QMaxPool") || is_octet(n, "QGlobalAveragePool");
}

bool quant_runs_nhwc(const Graph& g, const Node& n) {
  auto is_4d_act = [&](int v) {
    return v >= 0 && !g.values[v].constant && g.values[v].shape_known() && g.values[v].dims.size() == 4;
  };
  const int x = input_or_none(n, 0), y = n.outputs.empty() ? -1 : n.outputs[0];
  if (!is_4d_act(x) || !is_4d_act(y)) return false;
  if (is_octet(n, "QConv")) return g.values[x].dtype == DType::u8;
  if (is_octet(n, "QAdd")) {
    const int b = input_or_none(n, 3);
    return is_4d_act(b) && g.values[x].layout == Layout::nhwc && g.values[b].layout == Layout::nhwc &&
           g.values[x].shape() == g.values[y].shape() && g.values[b].shape() == g.values[y].shape();
  }
  if (is_op(n, "QuantizeLinear") || is_op(n, "DequantizeLinear")) {
    const Tensor* s = const_of(g, input_or_none(n, 1));
    if (!s || s->numel() != 1) return false;  // per-axis runs plain
  }
  return g.values[x].layout == Layout::nhwc;
}

bool quant_reads_nhwc(const Node& n, size_t i) {
  if (is_octet(n, "QConv")) return i == 0 || int(i) == n.fusion.residual_input;
  if (is_octet(n, "QAdd")) return i == 0 || i == 3;
  return i == 0;
}

std::string int8_form(const std::string& op) {
  // The patterns above (numbers as in the file's comment), in words.
  if (op == "Conv") return "QConv (4; Relu/Clip, residual Add and a two-stage add in the epilogue: 8)";
  if (op == "Gemm" || op == "MatMul") return "QGemm (5; constant s8 weights, u8 or dequantized float output)";
  if (op == "Add") return "QAdd (6; same-shape operands, Relu/Clip clamp) or a QConv's residual (8)";
  if (op == "GlobalAveragePool") return "QGlobalAveragePool (7)";
  if (op == "MaxPool") return "QMaxPool on u8 (2)";
  if (op == "Flatten" || op == "Reshape") return "moves u8 bytes (2)";
  if (op == "Relu" || op == "Clip") return "the producing QConv/QAdd's clamp (4, 6)";
  if (op == "QLinearConv") return "QConv (1)";
  if (op == "QLinearMatMul") return "QGemm (1)";
  if (op == "QuantizeLinear" || op == "DequantizeLinear") return "the ends of an int8 chain";
  return "";
}

}  // namespace octet
