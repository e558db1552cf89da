// Gemm and MatMul -> octet's own SGEMM (kernels/gemm), B packed once at load when it is a constant.
//
//   Gemm:   Y = act(alpha * A' * B' + beta * C + residual),  A' = transA ? A^T : A,  C broadcast to [M, N]
//   MatMul: Y[b] = act(A[b] * B[b] + residual[b]) with numpy batch broadcasting; a 1-D A is [1, K] and a 1-D B
//           is [K, 1], the added dim dropped from Y.
#include <algorithm>
#include <memory>
#include <vector>

#include "engine/ops/batched_gemm.h"
#include "engine/ops/fused_epilogue.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"

namespace octet::ops {
namespace {

namespace kg = kernels::gemm;

bool broadcasts_to(const Shape& s, const Shape& target) {
  if (s.size() > target.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const int64_t a = s[s.size() - 1 - i], b = target[target.size() - 1 - i];
    if (a != 1 && a != b) return false;
  }
  return true;
}

// One GEMM problem repeated over `batch` output matrices; per batch b the operands start at the offsets below.
struct GemmPlan {
  const kg::SgemmKernel* uk = nullptr;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  int64_t a_rs = 0, a_cs = 1, b_rs = 0, b_cs = 1;
  std::vector<int64_t> a_off, b_off;   // per output batch, element offsets into A and B
  std::vector<int64_t> b_pack_index;   // per output batch, which packed B to use (constant B)
  std::vector<std::vector<float>> packed_b;  // one per distinct B matrix, when B is constant
  float alpha = 1;
  // Addends: Gemm's C (input c_input, times beta) and the fused residual; broadcast strides over [batch.., M, N].
  struct Add {
    int input = -1;
    float scale = 1;
    std::vector<int64_t> off;  // per output batch
    int64_t rs = 0, cs = 0;
    bool full = false;  // same shape as Y: may alias the output buffer
  };
  Add add[2];
  kg::Activation act;
  int threads = 1;
};

class GemmKernel final : public Kernel {
 public:
  GemmKernel(std::string op, GemmPlan plan) : op_(std::move(op)), p_(std::move(plan)) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* a = in[0].as<const float>();
    const float* b = in[1].as<const float>();
    float* y = out[0].as<float>();
    batched().run(ctx, [&](int64_t bi) {
      kg::SgemmArgs g;
      g.m = p_.m;
      g.n = p_.n;
      g.k = p_.k;
      g.a = a + p_.a_off[size_t(bi)];
      g.a_rs = p_.a_rs;
      g.a_cs = p_.a_cs;
      if (!p_.packed_b.empty()) {
        g.packed_b = p_.packed_b[size_t(p_.b_pack_index[size_t(bi)])].data();
      } else {
        g.b = b + p_.b_off[size_t(bi)];
        g.b_rs = p_.b_rs;
        g.b_cs = p_.b_cs;
      }
      g.c = y + bi * p_.m * p_.n;
      g.ldc = p_.n;
      g.alpha = p_.alpha;
      g.act = p_.act;
      int slot = 0;
      for (const auto& ad : p_.add) {
        if (ad.input < 0) continue;
        const float* src = in[size_t(ad.input)].as<const float>();
        if (ad.full && src == out[0].data && ad.scale == 1.f) {
          // The planner gave the residual's buffer to Y: it already holds the addend, accumulate onto it.
          g.accumulate = true;
          continue;
        }
        g.add[slot++] = kg::Addend{src + ad.off[size_t(bi)], ad.rs, ad.cs, ad.scale};
      }
      return g;
    });
  }
  // The workspace holds packed A (and B) for p_.threads threads, or per batch problem (batched_gemm.h).
  size_t workspace_bytes() const override { return batched().workspace_bytes(); }
  // A constant B lives on in packed_b only; run() reads in[1] when B is computed at run time.
  bool input_packed(int i) const override { return i == 1 && !p_.packed_b.empty(); }
  std::string name() const override { return op_ + "/" + p_.uk->name; }

 private:
  BatchedGemm batched() const {
    BatchedGemm bg;
    bg.uk = p_.uk;
    bg.m = p_.m, bg.n = p_.n, bg.k = p_.k, bg.batch = p_.batch;
    bg.prepacked = !p_.packed_b.empty();
    bg.threads = p_.threads;
    return bg;
  }

  std::string op_;
  GemmPlan p_;
};

// Fills addend `slot`: input `input`, read as shape `s`, broadcast to Y = [batch dims.., M, N] (`yfull`).
void plan_addend(const KernelInfo& info, GemmPlan& p, int slot, int input, const Shape& s, float scale,
                 const Shape& yfull, const char* what) {
  if (!broadcasts_to(s, yfull))
    info.fail(std::string(what) + " '" + info.input(input).name + "' has shape " + shape_str(s) +
              ", which does not broadcast to the output " + shape_str(yfull));
  const std::vector<int64_t> st = broadcast_strides(s, yfull);
  GemmPlan::Add& ad = p.add[slot];
  ad.input = input;
  ad.scale = scale;
  ad.rs = st[st.size() - 2];
  ad.cs = st[st.size() - 1];
  ad.full = num_elements(s) == num_elements(yfull);
  // Batch offsets: the batch index in row-major order over yfull's leading dims.
  const size_t nb = yfull.size() - 2;
  ad.off.assign(size_t(p.batch), 0);
  for (int64_t b = 0; b < p.batch; ++b) {
    int64_t rem = b, off = 0;
    for (size_t d = nb; d-- > 0;) {
      off += (rem % yfull[d]) * st[d];
      rem /= yfull[d];
    }
    ad.off[size_t(b)] = off;
  }
}

// Packs every distinct B matrix now when B is a constant.
void prepack_b(const KernelInfo& info, GemmPlan& p, int64_t b_matrices) {
  const Tensor* bc = info.in_const(1);
  if (!bc) return;
  const float* b = bc->as<float>();
  p.packed_b.resize(size_t(b_matrices));
  for (int64_t i = 0; i < b_matrices; ++i) {
    p.packed_b[size_t(i)].resize(kg::sgemm_packed_b_floats(*p.uk, p.k, p.n));
    kg::sgemm_pack_b(*p.uk, p.k, p.n, b + i * p.k * p.n, p.b_rs, p.b_cs, p.packed_b[size_t(i)].data());
  }
}

std::unique_ptr<Kernel> make_gemm(const KernelInfo& info) {
  if (info.num_inputs() < 2) info.fail("expected inputs A, B (and optional C)");
  require_dtype(info, 0, DType::f32);
  require_dtype(info, 1, DType::f32);
  require_plain(info);
  const Node& node = info.node();
  const Shape a = info.in_shape(0), b = info.in_shape(1);
  if (a.size() != 2 || b.size() != 2)
    info.fail("A has shape " + shape_str(a) + " and B " + shape_str(b) + ", expected both of rank 2");
  const bool ta = node.attr_i("transA", 0) != 0, tb = node.attr_i("transB", 0) != 0;
  GemmPlan p;
  p.uk = &kg::sgemm_kernel(info.isa);
  p.threads = std::max(1, info.threads);
  p.m = ta ? a[1] : a[0];
  p.k = ta ? a[0] : a[1];
  p.n = tb ? b[0] : b[1];
  const int64_t kb = tb ? b[1] : b[0];
  if (kb != p.k)
    info.fail("A' is " + std::to_string(p.m) + "x" + std::to_string(p.k) + " but B' is " + std::to_string(kb) + "x" +
              std::to_string(p.n) + ": inner dimensions differ");
  const Shape y{p.m, p.n};
  if (info.out_shape(0) != y) info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(y));
  // Row-major A [M,K] is (rs K, cs 1); transposed storage [K,M] read as A^T is (rs 1, cs M). Same for B.
  p.a_rs = ta ? 1 : a[1];
  p.a_cs = ta ? a[1] : 1;
  p.b_rs = tb ? 1 : b[1];
  p.b_cs = tb ? b[1] : 1;
  p.a_off = {0};
  p.b_off = {0};
  p.b_pack_index = {0};
  p.alpha = node.attr_f("alpha", 1.f);
  const float beta = node.attr_f("beta", 1.f);
  if (info.has_input(2) && beta != 0.f) {
    require_dtype(info, 2, DType::f32, "C");
    plan_addend(info, p, 0, 2, info.in_shape(2), beta, y, "C");
  }
  const int residual = fused_residual(info);
  if (residual >= 0) plan_addend(info, p, 1, residual, info.in_shape(residual), 1.f, y, "fused residual");
  p.act = fused_activation(info);
  prepack_b(info, p, 1);
  return std::make_unique<GemmKernel>("gemm", std::move(p));
}

std::unique_ptr<Kernel> make_matmul(const KernelInfo& info) {
  require_dtype(info, 0, DType::f32);
  require_dtype(info, 1, DType::f32);
  require_plain(info);
  const Shape a0 = info.in_shape(0), b0 = info.in_shape(1);
  if (a0.empty() || b0.empty()) info.fail("MatMul operands must have rank 1 or more");
  // 1-D operands: A [K] -> [1, K], B [K] -> [K, 1]; the output has that dim removed.
  Shape a = a0, b = b0;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  GemmPlan p;
  p.uk = &kg::sgemm_kernel(info.isa);
  p.threads = std::max(1, info.threads);
  p.m = a[a.size() - 2];
  p.k = a.back();
  p.n = b.back();
  if (b[b.size() - 2] != p.k)
    info.fail("A has shape " + shape_str(a0) + " and B " + shape_str(b0) + ": inner dimensions differ");
  const Shape abatch(a.begin(), a.end() - 2), bbatch(b.begin(), b.end() - 2);
  const Shape ybatch = broadcast_shapes(info.graph, info.node_id, abatch, bbatch);
  Shape yfull = ybatch;
  yfull.push_back(p.m);
  yfull.push_back(p.n);
  // Y's ONNX shape drops the dims the 1-D operands added.
  Shape yonnx = ybatch;
  if (a0.size() > 1) yonnx.push_back(p.m);
  if (b0.size() > 1) yonnx.push_back(p.n);
  if (info.out_shape(0) != yonnx)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(yonnx));
  p.a_rs = p.k;
  p.b_rs = p.n;

  // The residual against [batch.., M, N]: put back the dims 1-D operands removed (as 1s) unless it is full.
  const int residual = fused_residual(info);
  Shape r;
  if (residual >= 0) {
    r = info.in_shape(residual);
    if (!broadcasts_to(r, yonnx))
      info.fail("fused residual '" + info.input(residual).name + "' has shape " + shape_str(r) +
                ", which does not broadcast to the output " + shape_str(yonnx));
    if (r == yonnx) {
      r = yfull;
    } else {
      if (a0.size() == 1 && !r.empty()) r.insert(r.end() - (b0.size() > 1 ? 1 : 0), 1);
      if (b0.size() == 1) r.push_back(1);
    }
  }

  int64_t batch = num_elements(ybatch);
  const int64_t b_matrices = num_elements(bbatch);
  // A batched against one B matrix: fold the batch into M (one tall GEMM, B packed and streamed once). The
  // residual must then be full or constant along rows and batch (its row index would otherwise wrap at M).
  bool fold = b_matrices == 1 && batch > 1 && num_elements(abatch) == batch;
  if (fold && residual >= 0 && r != yfull)
    for (size_t d = 0; d + 1 < r.size(); ++d) fold = fold && r[d] == 1;
  if (fold) {
    p.m *= batch;
    batch = 1;
    yfull = {p.m, p.n};
    if (residual >= 0 && num_elements(r) == num_elements(yfull)) r = yfull;
    else if (residual >= 0) r = {1, r.empty() ? 1 : r.back()};
  }
  p.batch = batch;
  // Offsets of each output batch into A and B, through their broadcast strides (counted in matrices).
  p.a_off.assign(size_t(batch), 0);
  p.b_off.assign(size_t(batch), 0);
  p.b_pack_index.assign(size_t(batch), 0);
  const std::vector<int64_t> sa = broadcast_strides(abatch, ybatch), sb = broadcast_strides(bbatch, ybatch);
  for (int64_t bi = 0; batch > 1 && bi < batch; ++bi) {
    int64_t rem = bi, oa = 0, ob = 0;
    for (size_t d = ybatch.size(); d-- > 0;) {
      const int64_t idx = rem % ybatch[d];
      rem /= ybatch[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    p.a_off[size_t(bi)] = oa * p.m * p.k;
    p.b_off[size_t(bi)] = ob * p.k * p.n;
    p.b_pack_index[size_t(bi)] = ob;
  }
  if (residual >= 0) plan_addend(info, p, 1, residual, r, 1.f, yfull, "fused residual");
  p.act = fused_activation(info);
  prepack_b(info, p, b_matrices);
  return std::make_unique<GemmKernel>("matmul", std::move(p));
}

}  // namespace

void register_gemm(KernelRegistry& r) {
  r.add("", "Gemm", make_gemm);
  r.add("", "MatMul", make_matmul);
}

}  // namespace octet::ops
