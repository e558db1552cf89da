// MatMul's numpy broadcasting of the batch dims and 1-D operands, and the batched-GEMM path that gives whole
// problems to threads (attention's [B, H, S, D] x [B, H, D, S]), against a naive double-precision product.
#include <doctest/doctest.h>

#include "op_test_util.h"

namespace {

using namespace octet;
using namespace octet::test;

// numpy matmul of a (shape sa) and b (shape sb), double accumulation.
std::vector<float> naive_matmul(const std::vector<float>& a, Shape sa, const std::vector<float>& b, Shape sb,
                                Shape* out) {
  const bool a1 = sa.size() == 1, b1 = sb.size() == 1;
  if (a1) sa.insert(sa.begin(), 1);
  if (b1) sb.push_back(1);
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  const size_t r = std::max(sa.size(), sb.size()) - 2;
  Shape batch(r);
  auto dim = [&](const Shape& s, size_t i) { return i + s.size() - 2 < r ? 1 : s[i + s.size() - 2 - r]; };
  for (size_t i = 0; i < r; ++i) batch[i] = std::max(dim(sa, i), dim(sb, i));
  *out = batch;
  if (!a1) out->push_back(M);
  if (!b1) out->push_back(N);
  const int64_t nb = num_elements(batch);
  std::vector<float> y(static_cast<size_t>(nb * M * N));
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t rem = bi, oa = 0, ob = 0, sta = 1, stb = 1;
    for (size_t i = r; i-- > 0;) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      oa += (dim(sa, i) == 1 ? 0 : idx) * sta;
      ob += (dim(sb, i) == 1 ? 0 : idx) * stb;
      sta *= dim(sa, i);
      stb *= dim(sb, i);
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(a[size_t((oa * M + i) * K + k)]) * b[size_t((ob * K + k) * N + j)];
        y[size_t((bi * M + i) * N + j)] = float(s);
      }
  }
  return y;
}

}  // namespace

TEST_SUITE("gemm") {
  TEST_CASE("MatMul: N-D x N-D broadcasting, 1-D operands, constant and computed B, batch-parallel threads") {
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{2, 3, 4, 5}, {5, 6}},
        {{5}, {2, 5, 3}},
        {{2, 1, 4, 5}, {3, 5, 6}},
        {{4, 5}, {5}},
        {{5}, {5}},
        {{1, 3, 4, 5}, {2, 1, 5, 6}},
        {{2, 4, 8, 16}, {2, 4, 16, 8}},
        {{3, 1, 7}, {3, 7, 2}},
        {{6, 9, 3}, {1, 3, 4}},
    };
    for (const auto& [sa, sb] : cases) {
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      std::vector<float> a = random_floats(size_t(num_elements(sa)), -1, 1, 1),
                         b = random_floats(size_t(num_elements(sb)), -1, 1, 2);
      Shape so;
      const std::vector<float> want = naive_matmul(a, sa, b, sb, &so);
      for (bool const_b : {false, true})
        for (int threads : {1, 2, 3}) {
          OpTest t("MatMul", 13);
          t.threads(threads).input(HostTensor::f32(sa, a));
          if (const_b)
            t.constant(HostTensor::f32(sb, b));
          else
            t.input(HostTensor::f32(sb, b));
          t.output(DType::f32, so);
          SerialChunks par(threads);
          check_close(t.run_on(kernels::detected_isa(), &par).values<float>(), want, 1e-5f, 1e-5f,
                      "threads " + std::to_string(threads) + (const_b ? " const B" : ""));
        }
    }
  }

  TEST_CASE("MatMul: mismatched inner dims and non-broadcasting batches are errors naming the node") {
    OpTest t("MatMul", 13);
    t.input(HostTensor::f32({2, 3, 4}, std::vector<float>(24)))
        .input(HostTensor::f32({3, 4, 5}, std::vector<float>(60)));
    t.output(DType::f32, {2, 3, 5});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("node 'n0'"), Error);
    OpTest k("MatMul", 13);
    k.input(HostTensor::f32({3, 4}, std::vector<float>(12))).input(HostTensor::f32({5, 6}, std::vector<float>(30)));
    k.output(DType::f32, {3, 6});
    CHECK_THROWS_WITH_AS(k.make(), doctest::Contains("inner dimensions differ"), Error);
  }

}  // TEST_SUITE
