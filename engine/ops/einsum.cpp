// Einsum (opset 12), float32.
//
// Two operands (what exporters write: "bhid,bhjd->bhij", "bij,bjk->bik", "...ij,...jk->...ik") become a
// batched matrix product on the sgemm kernels. Each label is classified by where it appears:
//   batch: A, B and the output      m: A and the output      n: B and the output      k: A and B only
// and C[batch][m][n] = sum_k A[batch][m][k] * B[batch][k][n], with M = prod(m sizes) and so on. Labels only in
// one operand (summed away) and repeated labels (diagonals) are first folded by the generic contraction below,
// into a contiguous [batch][m][k] (or [batch][k][n]) copy; so is an operand whose m or k labels are not
// adjacent in memory in the chosen order. Otherwise A and B are read in place through (row, column) strides:
// "bhid,bhjd" reads B transposed with no copy. When the output's label order is not [batch][m][n], C goes
// to the workspace and is permuted into Y.
//
// One operand, or three and more, run the generic contraction: for each output index, the sum over the other
// labels of the product of the operands (exact, not fast; exporters rarely emit these). float64 operands (ONNX's
// node tests use them) always take the generic contraction.
#include "graph/einsum.h"

#include <numeric>
#include <type_traits>

#include "engine/ops/batched_gemm.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace octet::ops {
namespace {

namespace kg = kernels::gemm;

/// A contraction over labels: y[odometer over out dims] = sum over sum dims of prod_i x_i[offset_i], each
/// operand addressed by one stride per dim (0 where it lacks the label or broadcasts it).
struct Contraction {
  std::vector<int64_t> out_dims, sum_dims;
  std::vector<std::vector<int64_t>> out_st, sum_st;  // [operand][dim]

  template <class T>
  void run(const std::vector<const T*>& x, T* y) const {
    const size_t n = x.size();
    const int64_t n_out = prod(out_dims), n_sum = prod(sum_dims);
    std::vector<int64_t> oi(out_dims.size(), 0), si(sum_dims.size(), 0), base(n, 0), off(n, 0);
    for (int64_t o = 0; o < n_out; ++o) {
      double acc = 0;
      off = base;
      std::fill(si.begin(), si.end(), 0);
      for (int64_t s = 0; s < n_sum; ++s) {
        double p = 1;
        for (size_t i = 0; i < n; ++i) p *= x[i][off[i]];
        acc += p;
        step(si, sum_dims, sum_st, off);
      }
      y[o] = T(acc);
      step(oi, out_dims, out_st, base);
    }
  }

 private:
  static int64_t prod(const std::vector<int64_t>& d) {
    return std::accumulate(d.begin(), d.end(), int64_t(1), std::multiplies<>());
  }
  static void step(std::vector<int64_t>& idx, const std::vector<int64_t>& dims,
                   const std::vector<std::vector<int64_t>>& st, std::vector<int64_t>& off) {
    for (size_t d = dims.size(); d-- > 0;) {
      for (size_t i = 0; i < off.size(); ++i) off[i] += st[i][d];
      if (++idx[d] < dims[d]) return;
      for (size_t i = 0; i < off.size(); ++i) off[i] -= st[i][d] * dims[d];
      idx[d] = 0;
    }
  }
};

/// Per label: operand `s`'s element stride (summed over repeated labels: a diagonal), 0 when the operand lacks
/// the label or has it with size 1 against a larger size (broadcast).
std::vector<int64_t> label_strides(const EinsumEquation& eq, const std::vector<int>& labels, const Shape& s) {
  std::vector<int64_t> st(eq.labels.size(), 0);
  int64_t stride = 1;
  for (size_t d = labels.size(); d-- > 0;) {
    if (s[d] != 1) st[size_t(eq.index(labels[d]))] += stride;
    stride *= s[d];
  }
  return st;
}

/// A contraction writing labels `out` (contiguous, in that order) from operands with per-label strides `st`,
/// summing every label in `sum`.
Contraction contraction(const EinsumEquation& eq, const std::vector<std::vector<int64_t>>& st,
                        const std::vector<int>& out, const std::vector<int>& sum) {
  Contraction c;
  c.out_st.resize(st.size());
  c.sum_st.resize(st.size());
  for (int l : out) {
    c.out_dims.push_back(eq.size_of(l));
    for (size_t i = 0; i < st.size(); ++i) c.out_st[i].push_back(st[i][size_t(eq.index(l))]);
  }
  for (int l : sum) {
    c.sum_dims.push_back(eq.size_of(l));
    for (size_t i = 0; i < st.size(); ++i) c.sum_st[i].push_back(st[i][size_t(eq.index(l))]);
  }
  return c;
}

bool contains(const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); }

/// Merges a label group into one dim: true when consecutive labels (size > 1) satisfy
/// stride[l_j] = stride[l_j+1] * size[l_j+1]; *stride is the innermost's (0 for an empty group).
bool merge(const EinsumEquation& eq, const std::vector<int64_t>& st, const std::vector<int>& group, int64_t* stride) {
  int64_t inner = -1, inner_size = 1;
  *stride = 0;
  for (size_t j = group.size(); j-- > 0;) {
    const int64_t sz = eq.size_of(group[j]), s = st[size_t(eq.index(group[j]))];
    if (sz == 1) continue;
    if (inner < 0)
      *stride = s;
    else if (s != inner * inner_size)
      return false;
    inner = s, inner_size = sz;
  }
  return true;
}

struct Operand {
  bool prep = false;        // contract into a contiguous copy first
  Contraction c;            // the copy's contraction (when prep)
  size_t ws_off = 0;        // the copy's place in the workspace
  std::vector<int64_t> st;  // per label strides of what the product reads (original or copy)
};

class EinsumGemmKernel final : public Kernel {
 public:
  Operand a, b;
  BatchedGemm bg;
  std::vector<int64_t> batch_dims, a_bst, b_bst;  // batch labels: sizes and A / B strides
  int64_t a_rs = 0, a_cs = 0, b_rs = 0, b_cs = 0;
  bool direct = true;  // C is Y
  Contraction out;     // else: Y from C
  size_t c_off = 0, gemm_off = 0, ws_bytes = 0;
  const float* dummy = nullptr;

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> o) const override {
    char* ws = static_cast<char*>(ctx.workspace);
    auto operand = [&](const Operand& op, int i) {
      const float* x = in[size_t(i)].as<const float>();
      if (!op.prep) return x;
      float* dst = reinterpret_cast<float*>(ws + op.ws_off);
      op.c.run<float>({x}, dst);
      return static_cast<const float*>(dst);
    };
    const float* pa = operand(a, 0);
    const float* pb = operand(b, 1);
    float* y = o[0].as<float>();
    float* c = direct ? y : reinterpret_cast<float*>(ws + c_off);
    if (bg.k == 0) {
      std::fill(c, c + bg.batch * bg.m * bg.n, 0.f);
    } else if (bg.m > 0 && bg.n > 0) {
      ExecContext gctx = ctx;
      gctx.workspace = ws + gemm_off;
      bg.run(gctx, [&](int64_t bi) {
        int64_t rem = bi, oa = 0, ob = 0;
        for (size_t d = batch_dims.size(); d-- > 0;) {
          const int64_t idx = rem % batch_dims[d];
          rem /= batch_dims[d];
          oa += idx * a_bst[d];
          ob += idx * b_bst[d];
        }
        kg::SgemmArgs g;
        g.m = bg.m, g.n = bg.n, g.k = bg.k;
        g.a = pa + oa, g.a_rs = a_rs, g.a_cs = a_cs;
        g.b = pb + ob, g.b_rs = b_rs, g.b_cs = b_cs;
        g.c = c + bi * bg.m * bg.n, g.ldc = bg.n;
        return g;
      });
    }
    if (!direct) out.run<float>({c}, y);
  }
  size_t workspace_bytes() const override { return ws_bytes; }
  std::string name() const override {
    return std::string("einsum/") + (a.prep || b.prep ? "contract+" : "") + bg.uk->name + (direct ? "" : "+permute");
  }
};

/// float32 or float64 (T): the generic contraction (float64 only ever takes this path).
template <class T>
class EinsumGenericKernel final : public Kernel {
 public:
  explicit EinsumGenericKernel(Contraction c) : c_(std::move(c)) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    std::vector<const T*> x;
    for (const TensorView& t : in) x.push_back(t.as<const T>());
    c_.run(x, out[0].as<T>());
  }
  std::string name() const override { return std::is_same_v<T, double> ? "einsum/generic_f64" : "einsum/generic"; }

 private:
  Contraction c_;
};

size_t round64(size_t b) { return (b + 63) / 64 * 64; }

std::unique_ptr<Kernel> make_einsum(const KernelInfo& info) {
  require_plain(info);
  std::vector<Shape> shapes;
  const DType dt = info.input(0).dtype;
  if (dt != DType::f32 && dt != DType::f64)
    unsupported(info, std::string("input '") + info.input(0).name + "' has type " + dtype_name(dt) +
                          ", only float32 and float64 are supported");
  for (int i = 0; i < info.num_inputs(); ++i) {
    require_dtype(info, i, dt);
    shapes.push_back(info.in_shape(i));
  }
  const EinsumEquation eq = parse_einsum(info.graph, info.node_id, shapes);
  std::vector<std::vector<int64_t>> st;
  for (size_t i = 0; i < shapes.size(); ++i) st.push_back(label_strides(eq, eq.in[i], shapes[i]));
  std::vector<int> summed;  // labels not in the output
  for (int l : eq.labels)
    if (!contains(eq.out, l)) summed.push_back(l);
  if (dt == DType::f64) return std::make_unique<EinsumGenericKernel<double>>(contraction(eq, st, eq.out, summed));
  if (shapes.size() != 2) return std::make_unique<EinsumGenericKernel<float>>(contraction(eq, st, eq.out, summed));

  // Two operands: classify the labels (unique per operand), in the output's order where they are in it.
  auto uniq = [](std::vector<int> v) {
    std::vector<int> r;
    for (int l : v)
      if (!contains(r, l)) r.push_back(l);
    return r;
  };
  const std::vector<int> la = uniq(eq.in[0]), lb = uniq(eq.in[1]);
  std::vector<int> batch, m, n, k, own_a, own_b;
  for (int l : eq.out) {
    const bool ia = contains(la, l), ib = contains(lb, l);
    (ia && ib ? batch : ia ? m : n).push_back(l);
  }
  for (int l : la)
    if (!contains(eq.out, l)) (contains(lb, l) ? k : own_a).push_back(l);
  for (int l : lb)
    if (!contains(eq.out, l) && !contains(la, l)) own_b.push_back(l);

  auto k_ = std::make_unique<EinsumGemmKernel>();
  EinsumGemmKernel& p = *k_;
  size_t ws = 0;
  // An operand is read in place when it has no diagonal, no own-summed label, and its two groups merge.
  auto plan_operand = [&](Operand& op, int i, const std::vector<int>& own, const std::vector<int>& rows,
                          const std::vector<int>& cols, int64_t* rs, int64_t* cs) {
    op.st = st[size_t(i)];
    const bool diag = uniq(eq.in[size_t(i)]).size() != eq.in[size_t(i)].size();
    if (!diag && own.empty() && merge(eq, op.st, rows, rs) && merge(eq, op.st, cols, cs)) return;
    // Contract into a contiguous [batch][rows][cols] copy.
    std::vector<int> order = batch;
    order.insert(order.end(), rows.begin(), rows.end());
    order.insert(order.end(), cols.begin(), cols.end());
    op.prep = true;
    op.c = contraction(eq, {st[size_t(i)]}, order, own);
    op.ws_off = ws;
    int64_t count = 1;
    for (int l : order) count *= eq.size_of(l);
    ws += round64(size_t(count) * sizeof(float));
    // The copy's strides: contiguous in `order`.
    op.st.assign(eq.labels.size(), 0);
    int64_t stride = 1;
    for (size_t j = order.size(); j-- > 0;) {
      const int64_t sz = eq.size_of(order[j]);
      if (sz != 1) op.st[size_t(eq.index(order[j]))] = stride;
      stride *= sz;
    }
    merge(eq, op.st, rows, rs);
    merge(eq, op.st, cols, cs);
  };
  plan_operand(p.a, 0, own_a, m, k, &p.a_rs, &p.a_cs);
  plan_operand(p.b, 1, own_b, k, n, &p.b_rs, &p.b_cs);
  auto size = [&](const std::vector<int>& g) {
    int64_t s = 1;
    for (int l : g) s *= eq.size_of(l);
    return s;
  };
  for (int l : batch) {
    if (eq.size_of(l) == 1) continue;
    p.batch_dims.push_back(eq.size_of(l));
    p.a_bst.push_back(p.a.st[size_t(eq.index(l))]);
    p.b_bst.push_back(p.b.st[size_t(eq.index(l))]);
  }
  p.bg.uk = &kg::sgemm_kernel(info.isa);
  p.bg.m = size(m), p.bg.n = size(n), p.bg.k = size(k), p.bg.batch = size(batch);
  p.bg.threads = std::max(1, info.threads);
  // Y is C when the output's labels (size > 1) are batch, then m, then n: true by construction of the groups
  // unless the output interleaves them.
  std::vector<int> bmn = batch, yl;
  bmn.insert(bmn.end(), m.begin(), m.end());
  bmn.insert(bmn.end(), n.begin(), n.end());
  for (int l : eq.out) yl.push_back(l);
  auto big = [&](std::vector<int> v) {
    std::vector<int> r;
    for (int l : v)
      if (eq.size_of(l) != 1) r.push_back(l);
    return r;
  };
  p.direct = big(bmn) == big(yl);
  if (!p.direct) {
    // Y's labels read from C (contiguous in bmn order).
    std::vector<int64_t> cst(eq.labels.size(), 0);
    int64_t stride = 1;
    for (size_t j = bmn.size(); j-- > 0;) {
      if (eq.size_of(bmn[j]) != 1) cst[size_t(eq.index(bmn[j]))] = stride;
      stride *= eq.size_of(bmn[j]);
    }
    p.out = contraction(eq, {cst}, eq.out, {});
    p.c_off = ws;
    ws += round64(size_t(p.bg.batch * p.bg.m * p.bg.n) * sizeof(float));
  }
  p.gemm_off = ws;
  ws += p.bg.workspace_bytes();
  p.ws_bytes = ws;
  return k_;
}

}  // namespace

void register_einsum(KernelRegistry& r) { r.add("", "Einsum", make_einsum); }

}  // namespace octet::ops
