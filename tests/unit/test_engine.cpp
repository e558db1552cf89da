// The engine's own machinery: thread pool, arena planning by liveness, plan caching by shape, concurrent runs.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <cmath>
#include <thread>

#include "engine/plan.h"
#include "engine/session.h"
#include "engine/thread_pool.h"

using namespace octet;

namespace {

// x -> Relu -> Sigmoid -> Relu -> ... (n unary steps) -> y, all [1, c, h, w] floats.
Graph chain(int n, Shape shape) {
  Graph g;
  g.path = "chain.onnx";
  g.opsets[""] = 13;
  int x = g.add_value("x", DType::f32);
  g.values[x].set_shape(shape);
  g.values[x].dims[0] = Dim{-1, "N"};
  g.inputs.push_back(x);
  int prev = x;
  for (int i = 0; i < n; ++i) {
    int out = g.add_value("t" + std::to_string(i), DType::f32);
    Node node;
    node.name = "n" + std::to_string(i);
    node.op_type = i % 2 ? "Sigmoid" : "Relu";
    node.inputs = {prev};
    node.outputs = {out};
    g.add_node(node);
    prev = out;
  }
  g.outputs.push_back(prev);
  return g;
}

float reference(float v, int n) {
  for (int i = 0; i < n; ++i) v = i % 2 ? 1.f / (1.f + std::exp(-v)) : std::max(v, 0.f);
  return v;
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("thread pool covers every index once, also with concurrent callers") {
    ThreadPool pool(2);
    for (int64_t n : {1, 2, 3, 17, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.for_range(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) CHECK(hits[i] == 1);
    }
    std::atomic<int64_t> sum{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t)
      callers.emplace_back([&] {
        for (int rep = 0; rep < 200; ++rep)
          pool.for_range(100, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) sum += i;
          });
      });
    for (auto& c : callers) c.join();
    CHECK(sum == int64_t(4) * 200 * 4950);
  }

  TEST_CASE("arena reuses buffers of dead values; results match the reference") {
    const Shape shape{1, 4, 8, 8};
    Session s(chain(10, shape), SessionOptions{});
    Tensor x(DType::f32, shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = float(i % 13) - 6.f;
    auto out = s.run({x.view()});
    REQUIRE(out.size() == 1);
    for (int64_t i = 0; i < x.numel(); ++i) CHECK(out[0].as<float>()[i] == doctest::Approx(reference(x.as<float>()[i], 10)).epsilon(1e-5));
    // Ten intermediates of 1 KiB each, but at most two are alive at once (in-place lets one do).
    Plan& p = *s.plan_for({shape});
    CHECK(p.arena_bytes() <= 2 * size_t(x.bytes()));
  }

  TEST_CASE("a symbolic batch compiles one plan per shape; wrong rank is a clear error") {
    Session s(chain(3, {1, 2, 3, 3}), SessionOptions{});
    for (int64_t n : {1, 3, 2}) {
      Tensor x(DType::f32, {n, 2, 3, 3});
      for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = float(i) * 0.1f - 1.f;
      auto out = s.run({x.view()});
      CHECK(out[0].shape() == Shape{n, 2, 3, 3});
      CHECK(out[0].as<float>()[x.numel() - 1] == doctest::Approx(reference(x.as<float>()[x.numel() - 1], 3)));
    }
    Tensor bad(DType::f32, {2, 3, 3});
    CHECK_THROWS_AS(s.run({bad.view()}), Error);
    Tensor wrong_channels(DType::f32, {1, 5, 3, 3});
    CHECK_THROWS_WITH_AS(s.run({wrong_channels.view()}), doctest::Contains("input 'x' expects shape Nx2x3x3"), Error);
  }

  TEST_CASE("the plan cache is bounded, least recently used first; a repeated shape compiles nothing") {
    SessionOptions opt;
    opt.max_cached_plans = 2;
    Session s(chain(3, {1, 2, 3, 3}), opt);
    auto run = [&](int64_t n) {
      Tensor x(DType::f32, {n, 2, 3, 3});
      for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = float(i % 7) - 3.f;
      auto out = s.run({x.view()});
      REQUIRE(out[0].shape() == Shape{n, 2, 3, 3});
      CHECK(out[0].as<float>()[x.numel() - 1] == doctest::Approx(reference(x.as<float>()[x.numel() - 1], 3)));
    };
    run(1), run(2), run(1);  // 1 is now the most recently used
    CHECK(s.plans_compiled() == 2);
    run(3);                  // evicts 2, not 1
    CHECK(s.cached_plans() == 2);
    run(1);
    CHECK(s.plans_compiled() == 3);
    run(2);
    CHECK(s.plans_compiled() == 4);
    CHECK(s.cached_plans() == 2);
  }

  TEST_CASE("threads running different shapes through a one-plan cache evict each other's plans safely") {
    SessionOptions opt;
    opt.max_cached_plans = 1;
    Session s(chain(4, {1, 4, 8, 8}), opt);
    std::atomic<int> wrong{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&, t] {
        const int64_t n = 1 + t % 3;
        Tensor x(DType::f32, {n, 4, 8, 8});
        for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = std::cos(float(i + t));
        for (int r = 0; r < 20; ++r) {
          auto out = s.run({x.view()});
          for (int64_t i = 0; i < x.numel(); i += 17)
            if (std::fabs(out[0].as<float>()[i] - reference(x.as<float>()[i], 4)) > 1e-5f) wrong++;
        }
      });
    for (auto& t : ts) t.join();
    CHECK(wrong == 0);
    CHECK(s.cached_plans() == 1);
  }

  TEST_CASE("one session runs from many threads at once with identical results") {
    const Shape shape{2, 8, 16, 16};
    Session s(chain(6, shape), SessionOptions{});
    Tensor x(DType::f32, shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = std::sin(float(i));
    auto want = s.run({x.view()});
    std::atomic<int> mismatches{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&] {
        for (int r = 0; r < 50; ++r) {
          auto got = s.run({x.view()});
          if (std::memcmp(got[0].data(), want[0].data(), want[0].bytes()) != 0) mismatches++;
        }
      });
    for (auto& t : ts) t.join();
    CHECK(mismatches == 0);
  }
}
