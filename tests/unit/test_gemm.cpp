// SGEMM tiles and driver against the double-precision reference, on every tier this CPU runs; then the Gemm and
// MatMul kernels through the registry.
//
// Tolerance: |got - want| <= 1e-4 * mag + 1e-6, where mag = sum_p |alpha A B| + sum |addends| is the size of the
// terms summed: fp32 accumulation error grows with that magnitude (at most k * 2^-24 * mag), not with the
// possibly cancelled result.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/gemm/sgemm.h"
#include "fused_op_test.h"
#include "op_test_util.h"

namespace {

using namespace octet;
using namespace octet::kernels::gemm;
using octet::test::random_floats;

struct Case {
  Case(int64_t m_, int64_t n_, int64_t k_, bool prepack_ = false) : m(m_), n(n_), k(k_), prepack(prepack_) {}
  int64_t m, n, k;
  bool ta = false, tb = false, prepack = false, accumulate = false;
  float alpha = 1;
  int add_kind = -1;  // -1 none, 0 scalar, 1 [N], 2 [M,1], 3 [M,N]
  float add_scale = 0.5f;
  Activation act;
  int threads = 1;
};

// Runs one case on `uk` and on sgemm_ref, and checks them.
void check_case(const SgemmKernel& uk, const Case& cs, uint32_t seed) {
  const int64_t m = cs.m, n = cs.n, k = cs.k;
  std::vector<float> a = random_floats(size_t(m * k), -1, 1, seed), b = random_floats(size_t(k * n), -1, 1, seed + 1);
  std::vector<float> add = random_floats(size_t(m * n), -1, 1, seed + 2);
  std::vector<float> c0 = random_floats(size_t(m * n), -1, 1, seed + 3);  // accumulate: C's prior content
  SgemmArgs g;
  g.m = m, g.n = n, g.k = k;
  g.a = a.data();
  // A stored [M,K] (rs K, cs 1) or, transposed, [K,M] (rs 1, cs M); B likewise.
  g.a_rs = cs.ta ? 1 : k;
  g.a_cs = cs.ta ? m : 1;
  g.b = b.data();
  g.b_rs = cs.tb ? 1 : n;
  g.b_cs = cs.tb ? k : 1;
  g.alpha = cs.alpha;
  g.accumulate = cs.accumulate;
  g.act = cs.act;
  g.ldc = n;
  if (cs.add_kind >= 0) {
    const int64_t rs[] = {0, 0, 1, n}, cs_[] = {0, 1, 0, 1};
    g.add[0] = Addend{add.data(), rs[cs.add_kind], cs_[cs.add_kind], cs.add_scale};
  }
  std::vector<float> want = c0, got = c0;
  SgemmArgs r = g;
  r.c = want.data();
  sgemm_ref(r);
  // Magnitude of the summed terms, for the tolerance.
  std::vector<double> mag(size_t(m * n), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = cs.accumulate ? std::abs(c0[size_t(i * n + j)]) : 0;
      for (int64_t p = 0; p < k; ++p) s += std::abs(cs.alpha * g.a[i * g.a_rs + p * g.a_cs] * g.b[p * g.b_rs + j * g.b_cs]);
      if (g.add[0].data) s += std::abs(cs.add_scale * g.add[0].data[i * g.add[0].rs + j * g.add[0].cs]);
      mag[size_t(i * n + j)] = s;
    }
  std::vector<float> packed;
  if (cs.prepack) {
    packed.resize(sgemm_packed_b_floats(uk, k, n));
    sgemm_pack_b(uk, k, n, g.b, g.b_rs, g.b_cs, packed.data());
    g.packed_b = packed.data();
  }
  // Guard: C sits in a larger buffer so a write past the tile's columns/rows would show as a changed sentinel.
  std::vector<float> guarded(size_t(m * n + 64), 12345.f);
  std::copy(got.begin(), got.end(), guarded.begin());
  g.c = guarded.data();
  std::vector<unsigned char> ws(sgemm_workspace_bytes(uk, m, n, k, cs.threads, cs.prepack) + 64);
  void* wsa = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  octet::test::SerialChunks par(cs.threads);
  sgemm(uk, g, wsa, cs.threads > 1 ? &par : nullptr);
  size_t bad = 0;
  for (size_t i = 0; i < size_t(m * n); ++i)
    if (!(std::abs(guarded[i] - want[i]) <= 1e-4 * mag[i] + 1e-6)) ++bad;
  for (size_t i = size_t(m * n); i < guarded.size(); ++i)
    if (guarded[i] != 12345.f) ++bad;
  CHECK_MESSAGE(bad == 0, uk.name << " m=" << m << " n=" << n << " k=" << k << " ta=" << cs.ta << " tb=" << cs.tb
                                  << " prepack=" << cs.prepack << " add=" << cs.add_kind << " act=" << int(cs.act.kind)
                                  << " threads=" << cs.threads << ": " << bad << " bad elements");
}

// An indirect GEMM (sgemm_indirect) against sgemm_ref on the equivalent dense A. The table points each (tile,
// tap, row) at one of `pool` random rows of `ch` floats or at a zero row, as a convolution's does (image pixels,
// padding), with repeats. epi: 0 none, 1 bias [N] (fused in the tile), 2 bias [N] scale 0.5 + [M,N] addend
// (after the tile), 3 accumulate onto C + bias.
struct IndirectCase {
  IndirectCase(int64_t m_, int64_t n_, int64_t taps_, int64_t ch_, int epi_ = 0, int threads_ = 1)
      : m(m_), n(n_), taps(taps_), ch(ch_), epi(epi_), threads(threads_) {}
  int64_t m, n, taps, ch;
  int epi;
  Activation act;
  int threads;
};

void check_indirect(const SgemmKernel& uk, const IndirectCase& cs, uint32_t seed) {
  const int64_t m = cs.m, n = cs.n, k = cs.taps * cs.ch, mr = uk.mr, pool = 7;
  const std::vector<float> rows = random_floats(size_t(pool * cs.ch), -1, 1, seed);
  const std::vector<float> zeros(size_t(cs.ch), 0.f);
  std::vector<const float*> table(sgemm_indirect_table_size(uk, m, cs.taps), nullptr);
  std::vector<float> a(size_t(m * k));
  uint32_t h = seed;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < cs.taps; ++t) {
      h = h * 1103515245u + 12345u;
      const int64_t pick = int64_t(h >> 16) % (pool + 1);  // pool: the zero row
      const float* row = pick == pool ? zeros.data() : rows.data() + pick * cs.ch;
      table[size_t(i / mr * cs.taps * mr + t * mr + i % mr)] = row;
      std::copy_n(row, cs.ch, a.begin() + i * k + t * cs.ch);
    }
  const std::vector<float> b = random_floats(size_t(k * n), -1, 1, seed + 1);
  const std::vector<float> bias = random_floats(size_t(n), -1, 1, seed + 2), add = random_floats(size_t(m * n), -1, 1, seed + 3);
  const std::vector<float> c0 = random_floats(size_t(m * n), -1, 1, seed + 4);
  SgemmArgs r;
  r.m = m, r.n = n, r.k = k, r.a = a.data(), r.a_rs = k, r.b = b.data(), r.b_rs = n, r.ldc = n, r.act = cs.act;
  if (cs.epi == 1 || cs.epi == 3) r.add[0] = {bias.data(), 0, 1, 1.f};
  if (cs.epi == 2) r.add[0] = {bias.data(), 0, 1, 0.5f}, r.add[1] = {add.data(), n, 1, 1.f};
  r.accumulate = cs.epi == 3;
  std::vector<float> want = c0;
  r.c = want.data();
  sgemm_ref(r);
  std::vector<float> packed(sgemm_packed_b_floats(uk, k, n));
  sgemm_pack_b(uk, k, n, b.data(), n, 1, packed.data());
  SgemmIndirectArgs g;
  g.m = m, g.n = n, g.taps = cs.taps, g.channels = cs.ch, g.a = table.data(), g.packed_b = packed.data();
  g.ldc = n, g.accumulate = r.accumulate, g.add[0] = r.add[0], g.add[1] = r.add[1], g.act = cs.act;
  std::vector<float> guarded(size_t(m * n + 64), 12345.f);
  std::copy(c0.begin(), c0.end(), guarded.begin());
  g.c = guarded.data();
  octet::test::SerialChunks par(cs.threads);
  sgemm_indirect(uk, g, cs.threads > 1 ? &par : nullptr);
  size_t bad = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double mag = r.accumulate ? std::abs(c0[size_t(i * n + j)]) : 0;  // size of the summed terms
      for (int64_t p = 0; p < k; ++p) mag += std::abs(a[size_t(i * k + p)] * b[size_t(p * n + j)]);
      mag += std::abs(bias[size_t(j)]) + std::abs(add[size_t(i * n + j)]);
      if (!(std::abs(guarded[size_t(i * n + j)] - want[size_t(i * n + j)]) <= 1e-4 * mag + 1e-6)) ++bad;
    }
  for (size_t i = size_t(m * n); i < guarded.size(); ++i)
    if (guarded[i] != 12345.f) ++bad;
  CHECK_MESSAGE(bad == 0, uk.name << " indirect m=" << m << " n=" << n << " taps=" << cs.taps << " ch=" << cs.ch
                                  << " epi=" << cs.epi << " act=" << int(cs.act.kind) << " threads=" << cs.threads
                                  << ": " << bad << " bad elements");
}

std::vector<const SgemmKernel*> tier_kernels() {
  std::vector<const SgemmKernel*> r;
  for (kernels::Isa t : octet::test::cpu_tiers())
    if (const SgemmKernel* k = sgemm_kernel_for(t)) r.push_back(k);
  return r;
}

}  // namespace

TEST_SUITE("gemm") {
  TEST_CASE("sgemm tiles: every m, n tail, small and odd k, trans flags, on each tier") {
    uint32_t seed = 1;
    for (const SgemmKernel* uk : tier_kernels()) {
      INFO(uk->name);
      const int64_t mr = uk->mr, nr = uk->nr;
      for (int64_t m : {int64_t(1), mr - 1, mr, mr + 1, 2 * mr + 3})
        for (int64_t n : {int64_t(1), nr - 1, nr, nr + 1, 2 * nr + 3})
          for (int64_t k : {1, 2, 7, 33})
            for (int t = 0; t < 4; ++t) {
              Case c{m, n, k};
              c.ta = t & 1;
              c.tb = t & 2;
              c.prepack = (m + n + k) % 2;
              check_case(*uk, c, seed++);
            }
    }
  }

  TEST_CASE("sgemm_indirect: every m tail, n tails, taps, channels below/at/above KC, epilogues, threads") {
    uint32_t seed = 3000;
    for (const SgemmKernel* uk : tier_kernels()) {
      if (!uk->rows_indirect[1]) continue;
      INFO(uk->name);
      const int64_t mr = uk->mr, nr = uk->nr;
      // Every row count of a tail tile (m = mr..2mr-1 covers 1..mr-1 extra rows) and 1-row GEMMs; the 1-row tile
      // splits p by 4, so channels 1, 3 and 5 hit its remainder loop.
      for (int64_t m = 1; m <= 2 * mr; ++m)
        for (int64_t n : {nr, nr + 3})
          for (int64_t ch : {1, 5, 16})
            check_indirect(*uk, IndirectCase{m, n, 3, ch, int(m % 4)}, seed++);
      // A tap deeper than KC = 256 runs in chunks (a nonzero channel offset into each row) on every tile height.
      for (int64_t m = 1; m <= 2 * mr; ++m) check_indirect(*uk, IndirectCase{m, nr, 2, 300, int(m % 4)}, seed++);
      // K blocks: whole taps per block (ch < KC = 256: 4 taps of 64, 3 of 80), one tap split into chunks
      // (ch = 300 -> 2 x 150, 513 -> 3 x 171), and M beyond one M block (MC = 16 mr).
      const IndirectCase big[] = {{37, 40, 9, 64, 1},  {20, 33, 9, 80, 2},   {13, 17, 2, 300, 3},
                                  {7, 16, 1, 513, 1},  {17 * mr + 2, 50, 2, 24, 0}, {9, 600, 1, 32, 1}};
      for (IndirectCase c : big)
        for (int act : {int(Activation::none), int(Activation::relu), int(Activation::clip), int(Activation::sigmoid)}) {
          c.act.kind = Activation::Kind(act);
          c.act.alpha = -0.2f, c.act.beta = 0.3f;
          check_indirect(*uk, c, seed++);
        }
      for (int threads : {2, 3}) {
        check_indirect(*uk, IndirectCase{40, 20, 9, 8, 1, threads}, seed++);   // rows split
        check_indirect(*uk, IndirectCase{5, 300, 4, 8, 3, threads}, seed++);   // strips split
      }
      check_indirect(*uk, IndirectCase{3, 5, 0, 4, 2}, seed++);  // K = 0: C = epilogue(addends)
    }
  }

  TEST_CASE("sgemm driver: K, M and N beyond one block, threads, alpha, addends, activations") {
    uint32_t seed = 1000;
    for (const SgemmKernel* uk : tier_kernels()) {
      INFO(uk->name);
      // K > KC (256) exercises accumulation across K blocks; M > MC and N > NC (512) the outer blocks.
      check_case(*uk, Case{130, 600, 300}, seed++);
      check_case(*uk, Case{1, 1000, 2048, true}, seed++);  // ResNet-50's FC layer
      for (int threads : {2, 3}) {
        Case c{200, 70, 40};
        c.threads = threads;  // rows split (few strips)
        check_case(*uk, c, seed++);
        c = Case{5, 700, 20};
        c.threads = threads;  // strips split
        c.prepack = threads == 2;
        check_case(*uk, c, seed++);
      }
      for (int add = -1; add < 4; ++add)
        for (int act = 0; act <= int(Activation::silu); ++act) {
          Case c{uk->mr + 2, uk->nr + 5, 19};
          c.alpha = 0.75f;
          c.add_kind = add;
          c.act.kind = Activation::Kind(act);
          c.act.alpha = act == Activation::clip ? -0.2f : 0.1f;
          c.act.beta = 0.3f;
          c.accumulate = add == 1;
          check_case(*uk, c, seed++);
        }
      // The epilogue the strided tile applies in registers (alpha 1, row-major A, a per-column bias of scale 1,
      // none/relu/clip), with and without C accumulated onto, over row/column tails and K blocks (K > KC = 256:
      // only the last block applies it); and the cases next to it that must not take it (scale != 1, [M,N]).
      for (int64_t k : {5, 257, 600})
        for (int act : {int(Activation::none), int(Activation::relu), int(Activation::clip)})
          for (int variant = 0; variant < 4; ++variant) {
            Case c{2 * uk->mr + 1, 3 * uk->nr + 7, k};
            c.add_kind = variant == 3 ? 3 : variant == 0 ? -1 : 1;
            c.add_scale = variant == 2 ? 0.5f : 1.f;
            c.act.kind = Activation::Kind(act);
            c.act.alpha = -0.2f, c.act.beta = 0.3f;
            c.accumulate = (k + variant) % 2;
            c.prepack = variant % 2;
            check_case(*uk, c, seed++);
          }
      Case c{3, 5, 0};  // k = 0: C = epilogue(addend)
      c.add_kind = 3;
      check_case(*uk, c, seed++);
    }
  }

  TEST_CASE("Gemm kernel: trans flags, alpha/beta, C broadcast, fused activation") {
    using octet::test::HostTensor;
    using octet::test::OpTest;
    const int64_t M = 7, K = 13, N = 19;
    uint32_t seed = 50;
    for (kernels::Isa isa : octet::test::cpu_tiers())
      for (int t = 0; t < 4; ++t)
        for (int ck = 0; ck < 5; ++ck) {
          const bool ta = t & 1, tb = t & 2, bconst = ck % 2;
          const Shape cshapes[] = {Shape{}, Shape{1}, Shape{N}, Shape{M, 1}, Shape{M, N}};
          std::vector<float> a = random_floats(M * K, -1, 1, seed++), b = random_floats(K * N, -1, 1, seed++);
          const Shape cs = cshapes[ck];
          std::vector<float> c = random_floats(size_t(num_elements(cs)), -1, 1, seed++);
          // Stored operands: A^T / B^T when the flag says so.
          std::vector<float> as(a.size()), bs(b.size());
          for (int64_t i = 0; i < M; ++i)
            for (int64_t p = 0; p < K; ++p) as[size_t(ta ? p * M + i : i * K + p)] = a[size_t(i * K + p)];
          for (int64_t p = 0; p < K; ++p)
            for (int64_t j = 0; j < N; ++j) bs[size_t(tb ? j * K + p : p * N + j)] = b[size_t(p * N + j)];
          const float alpha = 0.5f, beta = ck == 0 ? 0.f : 2.f;
          OpTest op("Gemm");
          op.input(HostTensor::f32(ta ? Shape{K, M} : Shape{M, K}, as));
          if (bconst)
            op.constant(HostTensor::f32(tb ? Shape{N, K} : Shape{K, N}, bs));
          else
            op.input(HostTensor::f32(tb ? Shape{N, K} : Shape{K, N}, bs));
          op.input(HostTensor::f32(cs, c)).output(DType::f32, {M, N});
          op.attr_i("transA", ta).attr_i("transB", tb).attr_f("alpha", alpha).attr_f("beta", beta);
          std::vector<float> want(size_t(M * N));
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double s = 0;
              for (int64_t p = 0; p < K; ++p) s += double(a[size_t(i * K + p)]) * b[size_t(p * N + j)];
              const int64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j)
                                                : (cs.empty() || cs[0] == 1 ? 0 : j);
              want[size_t(i * N + j)] = float(alpha * s + beta * c[size_t(ci)]);
            }
          octet::test::check_close(op.run_on(isa).values<float>(), want, 1e-4f, 1e-5f,
                                   std::string("Gemm ") + kernels::isa_name(isa) + " ta=" + std::to_string(ta) +
                                       " tb=" + std::to_string(tb) + " C=" + shape_str(cs));
        }
  }

  TEST_CASE("MatMul kernel: batch broadcasting, 1-D operands, constant B, fused residual + relu") {
    using octet::test::HostTensor;
    using octet::test::OpTest;
    struct MM {
      Shape a, b, y;
      bool bconst;
    };
    const MM cases[] = {
        {{3, 5}, {5, 4}, {3, 4}, false},          {{2, 3, 5}, {5, 4}, {2, 3, 4}, true},
        {{2, 1, 3, 5}, {4, 5, 6}, {2, 4, 3, 6}, false}, {{5}, {2, 5, 3}, {2, 3}, false},
        {{2, 3, 5}, {5}, {2, 3}, false},           {{5}, {5}, {}, false},
        {{4, 3, 5}, {4, 5, 17}, {4, 3, 17}, true},
    };
    uint32_t seed = 500;
    for (kernels::Isa isa : octet::test::cpu_tiers())
      for (const MM& c : cases) {
        std::vector<float> a = random_floats(size_t(num_elements(c.a)), -1, 1, seed++),
                           b = random_floats(size_t(num_elements(c.b)), -1, 1, seed++);
        // Reference over the padded shapes [.., M, K] x [.., K, N] with numpy broadcasting of batch dims.
        Shape a2 = c.a, b2 = c.b;
        if (a2.size() == 1) a2.insert(a2.begin(), 1);
        if (b2.size() == 1) b2.push_back(1);
        const int64_t M = a2[a2.size() - 2], K = a2.back(), N = b2.back();
        const size_t rank = std::max(a2.size(), b2.size());
        while (a2.size() < rank) a2.insert(a2.begin(), 1);
        while (b2.size() < rank) b2.insert(b2.begin(), 1);
        Shape yb;
        for (size_t d = 0; d + 2 < rank; ++d) yb.push_back(std::max(a2[d], b2[d]));
        const int64_t batches = num_elements(yb);
        std::vector<float> want(size_t(batches * M * N));
        for (int64_t bi = 0; bi < batches; ++bi) {
          int64_t rem = bi, oa = 0, ob = 0, sa = 1, sb = 1;
          for (size_t d = yb.size(); d-- > 0;) {
            const int64_t idx = rem % yb[d];
            rem /= yb[d];
            oa += (a2[d] == 1 ? 0 : idx) * sa;
            ob += (b2[d] == 1 ? 0 : idx) * sb;
            sa *= a2[d];
            sb *= b2[d];
          }
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double s = 0;
              for (int64_t p = 0; p < K; ++p)
                s += double(a[size_t(oa * M * K + i * K + p)]) * b[size_t(ob * K * N + p * N + j)];
              want[size_t((bi * M + i) * N + j)] = float(s);
            }
        }
        // Plain MatMul.
        {
          OpTest op("MatMul");
          op.input(HostTensor::f32(c.a, a));
          if (c.bconst)
            op.constant(HostTensor::f32(c.b, b));
          else
            op.input(HostTensor::f32(c.b, b));
          op.output(DType::f32, c.y);
          octet::test::check_close(op.run_on(isa).values<float>(), want, 1e-4f, 1e-5f,
                                   "MatMul " + shape_str(c.a) + " x " + shape_str(c.b));
        }
        // Fused: relu(MatMul + residual), the residual a full tensor and a row vector broadcast over rows.
        if (!c.y.empty())
          for (bool full : {true, false}) {
            const Shape rs = full ? c.y : Shape{c.y.back()};
            std::vector<float> res = random_floats(size_t(num_elements(rs)), -1, 1, seed++);
            std::vector<float> w2 = want;
            for (size_t i = 0; i < w2.size(); ++i)
              w2[i] = std::max(0.f, w2[i] + res[full ? i : i % size_t(c.y.back())]);
            octet::test::FusedOpTest op("MatMul");
            op.input(HostTensor::f32(c.a, a));
            op.input(HostTensor::f32(c.b, b), c.bconst);
            const int r = op.input(HostTensor::f32(rs, res));
            op.output(c.y);
            op.fuse(r, "Relu");
            auto kern = op.make(isa);
            const std::string what = "MatMul+residual " + shape_str(c.a) + " x " + shape_str(c.b) + " r=" + shape_str(rs);
            octet::test::check_close(op.run(*kern), w2, 1e-4f, 1e-5f, what);
            // The planner may hand the residual's buffer to the output: the kernel then accumulates onto it.
            if (full) octet::test::check_close(op.run(*kern, nullptr, true), w2, 1e-4f, 1e-5f, what + " aliased");
          }
      }
  }
}
