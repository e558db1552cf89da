// LSTM, GRU and RNN (opsets 7 and 14: layout = 1 puts batch first), float32, forward / reverse / bidirectional,
// sequence_lens, initial states, LSTM peepholes, clip and input_forget, GRU linear_before_reset.
//
// Per direction d, with G gates of `hidden` units (LSTM i o f c, GRU z r h, RNN one):
//   1. Input projection for every step at once, one sgemm: XW = X W[d]^T + bias, X read as [seq*batch, input]
//      (rows in X's own order) and W[d]^T through strides (no copy). LSTM / RNN fold Wb + Rb into the bias; GRU
//      folds all but Rbh when linear_before_reset = 1 (Rbh then sits inside r * (H Rh^T + Rbh)).
//   2. Each step: P = H R[d]^T (sgemm, M = batch), then the gate maths per active batch row:
//        LSTM: i = f(xi + pi + Pi*c), f = f(xf + pf + Pf*c) (1 - i with input_forget), c~ = g(xc + pc),
//              c' = f*c + i*c~, o = f(xo + po + Po*c'), h' = o * h(c')
//        GRU:  z = f(xz + pz), r = f(xr + pr),
//              h~ = g(xh + (r*h) Rh^T)            (linear_before_reset = 0: a second sgemm on r*h)
//              h~ = g(xh + r * (h Rh^T + Rbh))    (linear_before_reset = 1)
//              h' = (1 - z) * h~ + z * h
//        RNN:  h' = f(x + p)
//      `clip` bounds every activation's input to [-clip, clip].
// sequence_lens: batch row b runs steps t < len[b] (reverse: t = len[b]-1 down to 0); Y is 0 past len[b] and
// Y_h / Y_c hold the state after the row's last step. Activations: the defaults (Sigmoid, Tanh, Tanh) and any
// list of Sigmoid, Tanh, Relu; others are refused by name.
#include <algorithm>
#include <array>
#include <cmath>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "kernels/gemm/sgemm.h"

namespace octet::ops {
namespace {

namespace kg = kernels::gemm;

enum class Cell { lstm, gru, rnn };
enum class Act { sigmoid, tanh, relu };

inline float apply(Act a, float x) {
  switch (a) {
    case Act::sigmoid:
      return 1.f / (1.f + std::exp(-x));
    case Act::tanh:
      return std::tanh(x);
    default:
      return x > 0 ? x : 0.f;
  }
}

struct RnnPlan {
  Cell cell = Cell::lstm;
  int64_t gates = 4, dirs = 1, seq = 0, batch = 0, input = 0, hidden = 0;
  bool reverse_only = false, layout1 = false, lbr = false, input_forget = false;
  float clip = 0;                       // 0: none
  std::vector<std::array<Act, 3>> act;  // per direction: f, g, h
  const kg::SgemmKernel* uk = nullptr;
  int threads = 1;
  // Optional inputs' slots (-1: absent).
  int b_in = -1, lens_in = -1, h0_in = -1, c0_in = -1, p_in = -1;
  // Constant W and R packed once (sgemm_pack_b), per direction: W^T [input][GH]; R^T [hidden][GH], or for GRU
  // without linear_before_reset its z, r columns [hidden][2H] (r) and h columns [hidden][H] (rh). Empty: computed
  // at run time, packed per call by the driver. The step product with M = batch (often 1) would otherwise
  // re-pack all of R^T every step: as much work as the product itself.
  std::vector<std::vector<float>> packed_w, packed_r, packed_rh;
};

class RnnKernel final : public Kernel {
 public:
  explicit RnnKernel(RnnPlan p) : p_(std::move(p)) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const int64_t GH = p_.gates * p_.hidden, H = p_.hidden, B = p_.batch;
    float* ws = static_cast<float*>(ctx.workspace);
    float* xw = ws;                                                  // [seq*batch][GH]
    float* h = xw + p_.seq * B * GH;                                 // [batch][H] state
    float* c = h + B * H;                                            // [batch][H] LSTM cell
    float* pr = c + B * H;                                           // [batch][GH] recurrent product
    float* rh = pr + B * GH;                                         // [batch][H] GRU r*h
    float* bias = rh + B * H;                                        // [GH] folded bias, then [H] Rbh
    void* gws = static_cast<char*>(ctx.workspace) + floats_bytes();  // sgemm's, 64-byte aligned
    kernels::Parallel* par = ctx.parallel && ctx.parallel->threads() <= p_.threads ? ctx.parallel : nullptr;
    float* y = out.size() > 0 ? out[0].as<float>() : nullptr;
    float* yh = out.size() > 1 ? out[1].as<float>() : nullptr;
    float* yc = out.size() > 2 ? out[2].as<float>() : nullptr;
    if (y) std::fill(y, y + p_.seq * p_.dirs * B * H, 0.f);
    std::vector<int64_t> len(size_t(B), p_.seq);
    if (p_.lens_in >= 0 && in[size_t(p_.lens_in)].data) {
      const TensorView& l = in[size_t(p_.lens_in)];
      for (int64_t b = 0; b < B; ++b) {
        len[size_t(b)] = l.dtype == DType::i64 ? l.as<const int64_t>()[b] : l.as<const int32_t>()[b];
        if (len[size_t(b)] < 0 || len[size_t(b)] > p_.seq)
          throw Error("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len[size_t(b)]) +
                      " is outside [0, " + std::to_string(p_.seq) + "]");
      }
    }
    for (int64_t d = 0; d < p_.dirs; ++d) direction(d, in, len, xw, h, c, pr, rh, bias, gws, par, y, yh, yc);
  }

  size_t workspace_bytes() const override {
    const int64_t GH = p_.gates * p_.hidden;
    return floats_bytes() +
           std::max(kg::sgemm_workspace_bytes(*p_.uk, p_.seq * p_.batch, GH, p_.input, p_.threads, false),
                    kg::sgemm_workspace_bytes(*p_.uk, p_.batch, GH, p_.hidden, p_.threads, false));
  }
  bool input_packed(int i) const override {
    return (i == 1 && !p_.packed_w.empty()) || (i == 2 && !p_.packed_r.empty());
  }
  std::string name() const override {
    static const char* n[] = {"lstm", "gru", "rnn"};
    return std::string(n[int(p_.cell)]) + "/" + p_.uk->name;
  }

 private:
  // XW, h, c, P, r*h, bias: the floats before sgemm's workspace.
  size_t floats_bytes() const {
    const int64_t GH = p_.gates * p_.hidden, H = p_.hidden, B = p_.batch;
    return (size_t(p_.seq * B * GH + 2 * B * H + B * GH + B * H + GH + H) * sizeof(float) + 63) / 64 * 64;
  }
  // Row of X / XW for step t of batch row b, in X's memory order.
  int64_t row(int64_t t, int64_t b) const { return p_.layout1 ? b * p_.seq + t : t * p_.batch + b; }
  int64_t y_off(int64_t t, int64_t d, int64_t b) const {
    return (p_.layout1 ? (b * p_.seq + t) * p_.dirs + d : (t * p_.dirs + d) * p_.batch + b) * p_.hidden;
  }
  int64_t state_off(int64_t d, int64_t b) const {
    return (p_.layout1 ? b * p_.dirs + d : d * p_.batch + b) * p_.hidden;
  }

  // C (ldc) = A B + bias, B read through strides or, when `packed` is not empty, prepacked.
  void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, const float* b, int64_t b_rs, int64_t b_cs,
            const std::vector<float>* packed, float* c, int64_t ldc, const float* bias, void* ws,
            kernels::Parallel* par) const {
    kg::SgemmArgs g;
    g.m = m, g.n = n, g.k = k;
    g.a = a, g.a_rs = a_rs, g.a_cs = 1;
    if (packed)
      g.packed_b = packed->data();
    else
      g.b = b, g.b_rs = b_rs, g.b_cs = b_cs;
    g.c = c, g.ldc = ldc;
    if (bias) g.add[0] = kg::Addend{bias, 0, 1, 1.f};
    kg::sgemm(*p_.uk, g, ws, par);
  }

  void direction(int64_t d, std::span<const TensorView> in, const std::vector<int64_t>& len, float* xw, float* h,
                 float* c, float* pr, float* rh, float* bias, void* gws, kernels::Parallel* par, float* y, float* yh,
                 float* yc) const {
    const int64_t H = p_.hidden, GH = p_.gates * H, B = p_.batch;
    const bool rev = p_.reverse_only || d == 1;
    // W and R are read from the inputs only when not packed (a packed constant's view has no data).
    const float* W = p_.packed_w.empty() ? in[1].as<const float>() + d * GH * p_.input : nullptr;
    const float* R = p_.packed_r.empty() ? in[2].as<const float>() + d * GH * H : nullptr;
    auto packed = [&](const std::vector<std::vector<float>>& v) { return v.empty() ? nullptr : &v[size_t(d)]; };
    // Folded bias: Wb + Rb, except GRU's Rbh with linear_before_reset (kept apart in bias[GH..GH+H)).
    std::fill(bias, bias + GH + H, 0.f);
    if (p_.b_in >= 0 && in[size_t(p_.b_in)].data) {
      const float* Bv = in[size_t(p_.b_in)].as<const float>() + d * 2 * GH;
      for (int64_t j = 0; j < GH; ++j) bias[j] = Bv[j] + Bv[GH + j];
      if (p_.cell == Cell::gru && p_.lbr)
        for (int64_t j = 0; j < H; ++j) bias[2 * H + j] = Bv[2 * H + j], bias[GH + j] = Bv[GH + 2 * H + j];
    }
    // 1. XW = X W^T + bias over every step: W^T(p, j) = W[j][p].
    gemm(p_.seq * B, GH, p_.input, in[0].as<const float>(), p_.input, W, 1, p_.input, packed(p_.packed_w), xw, GH, bias,
         gws, par);
    // Initial state.
    for (int64_t b = 0; b < B; ++b) {
      const bool h0 = p_.h0_in >= 0 && in[size_t(p_.h0_in)].data, c0 = p_.c0_in >= 0 && in[size_t(p_.c0_in)].data;
      for (int64_t j = 0; j < H; ++j) {
        h[b * H + j] = h0 ? in[size_t(p_.h0_in)].as<const float>()[state_off(d, b) + j] : 0.f;
        c[b * H + j] = c0 ? in[size_t(p_.c0_in)].as<const float>()[state_off(d, b) + j] : 0.f;
      }
    }
    const float* P =
        p_.p_in >= 0 && in[size_t(p_.p_in)].data ? in[size_t(p_.p_in)].as<const float>() + d * 3 * H : nullptr;
    const auto& act = p_.act[size_t(d)];
    auto clip = [&](float v) { return p_.clip > 0 ? std::min(std::max(v, -p_.clip), p_.clip) : v; };
    for (int64_t s = 0; s < p_.seq; ++s) {
      // 2. P = H R^T (GRU without linear_before_reset: the z and r columns only, h's after r is known).
      const bool gru_split = p_.cell == Cell::gru && !p_.lbr;
      gemm(B, gru_split ? 2 * H : GH, H, h, H, R, 1, H, packed(p_.packed_r), pr, GH, nullptr, gws, par);
      if (gru_split) {
        for (int64_t b = 0; b < B; ++b) {
          const int64_t t = rev ? len[size_t(b)] - 1 - s : s;
          if (s >= len[size_t(b)]) continue;
          const float* x = xw + row(t, b) * GH;
          for (int64_t j = 0; j < H; ++j)
            rh[b * H + j] = apply(act[0], clip(x[H + j] + pr[b * GH + H + j])) * h[b * H + j];
        }
        // (r*h) Rh^T into the h columns.
        gemm(B, H, H, rh, H, R ? R + 2 * H * H : nullptr, 1, H, packed(p_.packed_rh), pr + 2 * H, GH, nullptr, gws,
             par);
      }
      for (int64_t b = 0; b < B; ++b) {
        if (s >= len[size_t(b)]) continue;
        const int64_t t = rev ? len[size_t(b)] - 1 - s : s;
        const float* x = xw + row(t, b) * GH;
        const float* q = pr + b * GH;
        float* hb = h + b * H;
        float* cb = c + b * H;
        for (int64_t j = 0; j < H; ++j) {
          switch (p_.cell) {
            case Cell::lstm: {
              const float cp = cb[j];
              const float i = apply(act[0], clip(x[j] + q[j] + (P ? P[j] * cp : 0.f)));
              const float f = p_.input_forget
                                  ? 1.f - i
                                  : apply(act[0], clip(x[2 * H + j] + q[2 * H + j] + (P ? P[2 * H + j] * cp : 0.f)));
              const float g = apply(act[1], clip(x[3 * H + j] + q[3 * H + j]));
              const float cn = f * cp + i * g;
              const float o = apply(act[0], clip(x[H + j] + q[H + j] + (P ? P[H + j] * cn : 0.f)));
              cb[j] = cn;
              hb[j] = o * apply(act[2], cn);
              break;
            }
            case Cell::gru: {
              const float z = apply(act[0], clip(x[j] + q[j]));
              const float r = apply(act[0], clip(x[H + j] + q[H + j]));
              const float hh = p_.lbr ? apply(act[1], clip(x[2 * H + j] + r * (q[2 * H + j] + bias[GH + j])))
                                      : apply(act[1], clip(x[2 * H + j] + q[2 * H + j]));
              hb[j] = (1.f - z) * hh + z * hb[j];
              break;
            }
            case Cell::rnn:
              hb[j] = apply(act[0], clip(x[j] + q[j]));
              break;
          }
        }
        if (y) std::copy(hb, hb + H, y + y_off(t, d, b));
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      if (yh) std::copy(h + b * H, h + (b + 1) * H, yh + state_off(d, b));
      if (yc) std::copy(c + b * H, c + (b + 1) * H, yc + state_off(d, b));
    }
  }

  RnnPlan p_;
};

Act parse_act(const KernelInfo& info, const std::string& name) {
  if (name == "Sigmoid") return Act::sigmoid;
  if (name == "Tanh") return Act::tanh;
  if (name == "Relu") return Act::relu;
  unsupported(info, "activation '" + name + "' is not supported (Sigmoid, Tanh and Relu are)");
}

// B(p, j) = M[j][p] for a row-major [n][k] block M: the transposed weights, packed for the kernel.
std::vector<float> pack_t(const RnnPlan& p, const float* m, int64_t k, int64_t n) {
  std::vector<float> out(kg::sgemm_packed_b_floats(*p.uk, k, n));
  kg::sgemm_pack_b(*p.uk, k, n, m, 1, k, out.data());
  return out;
}

void prepack(const KernelInfo& info, RnnPlan& p) {
  const int64_t H = p.hidden, GH = p.gates * H;
  const bool split = p.cell == Cell::gru && !p.lbr;
  for (int64_t d = 0; d < p.dirs; ++d) {
    if (const Tensor* w = info.in_const(1))
      p.packed_w.push_back(pack_t(p, w->as<float>() + d * GH * p.input, p.input, GH));
    if (const Tensor* r = info.in_const(2)) {
      const float* rd = r->as<float>() + d * GH * H;
      p.packed_r.push_back(pack_t(p, rd, H, split ? 2 * H : GH));
      if (split) p.packed_rh.push_back(pack_t(p, rd + 2 * H * H, H, H));
    }
  }
}

std::unique_ptr<Kernel> make_recurrent(const KernelInfo& info) {
  require_plain(info);
  const Node& n = info.node();
  RnnPlan p;
  p.cell = n.op_type == "LSTM" ? Cell::lstm : n.op_type == "GRU" ? Cell::gru : Cell::rnn;
  p.gates = p.cell == Cell::lstm ? 4 : p.cell == Cell::gru ? 3 : 1;
  if (info.num_inputs() < 3) info.fail("expected inputs X, W, R");
  for (int i : {0, 1, 2, 3, 5, 6, 7})
    if (info.has_input(i) && !(p.cell != Cell::lstm && i > 5)) require_dtype(info, i, DType::f32);
  const std::string dir = n.attr_s("direction", "forward");
  p.dirs = dir == "bidirectional" ? 2 : 1;
  p.reverse_only = dir == "reverse";
  p.layout1 = info.graph.opset() >= 14 && n.attr_i("layout", 0) == 1;
  const Shape x = info.in_shape(0);
  p.seq = p.layout1 ? x[1] : x[0];
  p.batch = p.layout1 ? x[0] : x[1];
  p.input = x[2];
  if (x.size() != 3) info.fail("X has shape " + shape_str(x) + ", expected rank 3");
  const Shape r = info.in_shape(2);
  p.hidden = r.size() == 3 ? r[2] : 0;
  if (n.has_attr("hidden_size") && n.attr_i("hidden_size", 0) != p.hidden)
    info.fail("hidden_size " + std::to_string(n.attr_i("hidden_size", 0)) + " differs from R's " +
              std::to_string(p.hidden));
  const int64_t GH = p.gates * p.hidden;
  const Shape state = p.layout1 ? Shape{p.batch, p.dirs, p.hidden} : Shape{p.dirs, p.batch, p.hidden};
  const char* roles[] = {"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};
  const Shape want[] = {x,     {p.dirs, GH, p.input}, {p.dirs, GH, p.hidden}, {p.dirs, 2 * GH}, {p.batch}, state,
                        state, {p.dirs, 3 * p.hidden}};
  for (int i = 1; i < (p.cell == Cell::lstm ? 8 : 6); ++i)
    if (info.has_input(i) && info.in_shape(i) != want[i])
      info.fail(std::string(roles[i]) + " '" + info.input(i).name + "' has shape " + shape_str(info.in_shape(i)) +
                ", expected " + shape_str(want[i]));
  if (info.has_input(4) && info.input(4).dtype != DType::i32 && info.input(4).dtype != DType::i64)
    info.fail("sequence_lens must be int32");
  p.lbr = p.cell == Cell::gru && n.attr_i("linear_before_reset", 0) != 0;
  p.input_forget = p.cell == Cell::lstm && n.attr_i("input_forget", 0) != 0;
  p.clip = n.has_attr("clip") ? n.attr_f("clip", 0) : 0.f;
  if (n.has_attr("clip") && !(p.clip > 0)) info.fail("clip must be positive");
  // Default activations per direction; a given list has `per` names for each direction.
  const int per = p.cell == Cell::lstm ? 3 : p.cell == Cell::gru ? 2 : 1;
  std::vector<std::string> names;
  if (n.has_attr("activations")) {
    const Attribute& a = n.attrs.at("activations");
    names = a.strings;
    if (int64_t(names.size()) != per * p.dirs)
      info.fail("activations has " + std::to_string(names.size()) + " entries, expected " +
                std::to_string(per * p.dirs));
  } else {
    for (int64_t d = 0; d < p.dirs; ++d) {
      if (p.cell == Cell::rnn)
        names.push_back("Tanh");
      else {
        names.push_back("Sigmoid");
        names.push_back("Tanh");
        if (p.cell == Cell::lstm) names.push_back("Tanh");
      }
    }
  }
  for (int64_t d = 0; d < p.dirs; ++d) {
    std::array<Act, 3> a{Act::sigmoid, Act::tanh, Act::tanh};
    for (int k = 0; k < per; ++k) a[size_t(k)] = parse_act(info, names[size_t(d * per + k)]);
    p.act.push_back(a);
  }
  if (n.has_attr("activation_alpha") || n.has_attr("activation_beta"))
    unsupported(info, "activation_alpha / activation_beta are not supported (only parameterless activations are)");
  auto opt = [&](int i) { return info.has_input(i) ? i : -1; };
  p.b_in = opt(3), p.lens_in = opt(4), p.h0_in = opt(5);
  if (p.cell == Cell::lstm) p.c0_in = opt(6), p.p_in = opt(7);
  p.uk = &kg::sgemm_kernel(info.isa);
  p.threads = std::max(1, info.threads);
  prepack(info, p);
  return std::make_unique<RnnKernel>(std::move(p));
}

}  // namespace

void register_recurrent(KernelRegistry& r) {
  r.add("", "LSTM", make_recurrent);
  r.add("", "GRU", make_recurrent);
  r.add("", "RNN", make_recurrent);
}

}  // namespace octet::ops
