// fold_batchnorm: BatchNormalization right after a Conv or Gemm with constant weights is folded into them.
//
// Inference BatchNormalization over channel c (axis 1):
//   z = (y - m[c]) * g[c] / sqrt(v[c] + e) + beta[c] = (y - m[c]) * s[c] + beta[c],   s[c] = g[c] / sqrt(v[c] + e)
// Conv, output channel c: y = sum(w[c,...] * x) + b[c], so
//   z = sum((w[c,...] * s[c]) * x) + (b[c] - m[c]) * s[c] + beta[c]
//   => w'[c,...] = w[c,...] * s[c],   b'[c] = (b[c] - m[c]) * s[c] + beta[c]     (b = 0 when absent).
// Gemm: y = alpha * A' B' + beta_g * C (B' = B or B^T, shape K x N, output column n is the channel), so
//   z[:,n] = alpha * A' (B'[:,n] * s[n]) + (beta_g * C[n] - m[n]) * s[n] + beta[n]
//   => B'[:,n] *= s[n] (a row of B when transB = 1, a column when transB = 0),
//      C'[n] = (beta_g * C[n] - m[n]) * s[n] + beta[n] and beta_g := 1.
// s is computed in double so the folded weights round once.
//
// Conditions: the Conv/Gemm output is read only by the BN and is not a graph output; the Conv/Gemm carries no
// fused epilogue yet; weights, bias and all four BN parameters are f32 constants of the right length; the BN is
// in inference mode with only its first output used. A BN that does not fit stays and runs as an op.
#include <cmath>
#include <memory>

#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

// s[c] = g[c] / sqrt(v[c] + e) and t[c] = beta[c] - m[c] * s[c]: z = y * s + t. Empty when the BN does not fit.
struct BnAffine {
  std::vector<double> s, mean, beta;
};

bool bn_affine(const Graph& g, const Node& bn, const std::vector<std::vector<int>>& cons, int64_t channels,
               BnAffine& out) {
  if (bn.attr_i("training_mode", 0) != 0 || bn.attr_i("spatial", 1) != 1) return false;
  for (size_t o = 1; o < bn.outputs.size(); ++o)
    if (is_used(g, cons, bn.outputs[o])) return false;
  const Tensor* p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = f32_constant(g, input_or_none(bn, size_t(i) + 1));
    if (!p[i] || p[i]->numel() != channels) return false;
  }
  const double eps = bn.attr_f("epsilon", 1e-5f);
  out.s.resize(channels);
  out.mean.resize(channels);
  out.beta.resize(channels);
  for (int64_t c = 0; c < channels; ++c) {
    out.s[c] = double(p[0]->as<float>()[c]) / std::sqrt(double(p[3]->as<float>()[c]) + eps);
    out.mean[c] = p[2]->as<float>()[c];
    out.beta[c] = p[1]->as<float>()[c];
  }
  return true;
}

std::shared_ptr<Tensor> f32_tensor(const Shape& s) { return std::make_shared<Tensor>(DType::f32, s); }

// Conv: w' = w * s per output channel (dim 0 of the weight), b' = (b - m) * s + beta.
bool fold_into_conv(Graph& g, Node& conv, const BnAffine& bn) {
  const Tensor* w = f32_constant(g, input_or_none(conv, 1));
  if (!w || w->shape().size() < 3) return false;
  const int64_t m = w->shape()[0];
  if (int64_t(bn.s.size()) != m) return false;
  const int b_id = input_or_none(conv, 2);
  const Tensor* b = f32_constant(g, b_id);
  if (b_id >= 0 && (!b || b->numel() != m)) return false;

  auto w2 = f32_tensor(w->shape());
  const int64_t per_channel = w->numel() / m;
  for (int64_t c = 0; c < m; ++c)
    for (int64_t k = 0; k < per_channel; ++k)
      w2->as<float>()[c * per_channel + k] = float(double(w->as<float>()[c * per_channel + k]) * bn.s[c]);
  auto b2 = f32_tensor({m});
  for (int64_t c = 0; c < m; ++c) {
    const double bias = b ? double(b->as<float>()[c]) : 0.0;
    b2->as<float>()[c] = float((bias - bn.mean[c]) * bn.s[c] + bn.beta[c]);
  }
  const std::string wname = g.values[conv.inputs[1]].name, base = conv.name.empty() ? wname : conv.name;
  conv.inputs[1] = g.add_constant(unique_value_name(g, wname + "_bnfold"), w2);
  if (conv.inputs.size() < 3) conv.inputs.resize(3, -1);
  conv.inputs[2] = g.add_constant(unique_value_name(g, (b_id >= 0 ? g.values[b_id].name : base + ".bias") + "_bnfold"), b2);
  return true;
}

// Gemm: column n of B' scaled by s[n]; C'[n] = (beta_g * C[n] - m[n]) * s[n] + beta[n]; beta_g := 1.
bool fold_into_gemm(Graph& g, Node& gemm, const BnAffine& bn) {
  const Tensor* b = f32_constant(g, input_or_none(gemm, 1));
  if (!b || b->shape().size() != 2) return false;
  const bool trans_b = gemm.attr_i("transB", 0) != 0;
  const int64_t rows = b->shape()[0], cols = b->shape()[1];
  const int64_t n = trans_b ? rows : cols;
  if (int64_t(bn.s.size()) != n) return false;
  const int c_id = input_or_none(gemm, 2);
  const Tensor* c = f32_constant(g, c_id);
  if (c_id >= 0) {
    // C broadcasts to M x N; fold only a C that is one value per column (N, 1xN) or one value in all (1, 1x1).
    if (!c) return false;
    const Shape& cs = c->shape();
    const bool per_column = c->numel() == n && !cs.empty() && cs.back() == n;
    if (!per_column && c->numel() != 1) return false;
  }
  const double beta_g = gemm.attr_f("beta", 1.0f);

  auto b2 = f32_tensor(b->shape());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      b2->as<float>()[r * cols + k] = float(double(b->as<float>()[r * cols + k]) * bn.s[trans_b ? r : k]);
  auto c2 = f32_tensor({n});
  for (int64_t j = 0; j < n; ++j) {
    const double cj = c ? double(c->as<float>()[c->numel() == 1 ? 0 : j]) : 0.0;
    c2->as<float>()[j] = float((beta_g * cj - bn.mean[j]) * bn.s[j] + bn.beta[j]);
  }
  const std::string bname = g.values[gemm.inputs[1]].name, base = gemm.name.empty() ? bname : gemm.name;
  gemm.inputs[1] = g.add_constant(unique_value_name(g, bname + "_bnfold"), b2);
  if (gemm.inputs.size() < 3) gemm.inputs.resize(3, -1);
  gemm.inputs[2] = g.add_constant(unique_value_name(g, (c_id >= 0 ? g.values[c_id].name : base + ".C") + "_bnfold"), c2);
  Attribute one;
  one.kind = Attribute::Kind::f;
  one.f = 1.0f;
  gemm.attrs["beta"] = one;
  return true;
}

}  // namespace

bool pass_fold_batchnorm(Graph& g, std::string* note) {
  const auto cons = g.consumers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& bn = g.nodes[i];
    if (!is_op(bn, "BatchNormalization") || bn.outputs.empty() || bn.outputs[0] < 0) continue;
    const int y = input_or_none(bn, 0);
    if (y < 0 || !only_read_by(g, cons, y, int(i))) continue;
    const int p = g.values[y].producer;
    if (p < 0) continue;
    Node& op = g.nodes[p];
    const bool conv = is_op(op, "Conv"), gemm = is_op(op, "Gemm");
    if (!(conv || gemm) || op.outputs.size() != 1 || op.outputs[0] != y) continue;
    if (!op.fusion.activation.empty() || op.fusion.residual_input >= 0) continue;
    const Value& yv = g.values[y];
    if (yv.dtype != DType::f32 || !yv.shape_known() || yv.dims.size() < 2) continue;
    BnAffine affine;
    if (!bn_affine(g, bn, cons, yv.dims[1].value, affine)) continue;
    if (!(conv ? fold_into_conv(g, op, affine) : fold_into_gemm(g, op, affine))) continue;
    // The Conv/Gemm now writes the BN's output z; y is unreferenced and compact() drops it.
    const int z = bn.outputs[0];
    bn.dead = true;
    op.outputs[0] = z;
    g.values[z].producer = p;
    g.values[y].producer = -1;
    add_part(op, bn);
    if (note) *note = "fold_batchnorm: '" + bn.name + "' into '" + op.name + "' (" + op.op_type + ")";
    return true;
  }
  return false;
}

}  // namespace octet
