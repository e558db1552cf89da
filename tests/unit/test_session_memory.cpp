// Session memory: a session loaded from a file frees its model's constants after compiling (engine/session.h),
// compiles later shapes from a fresh read of the same file, and refuses when the file changed.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include <unistd.h>

#include "engine/plan.h"
#include "engine/session.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

const std::string kModel = std::string(OCTET_SOURCE_DIR) + "/models/fmnist_resnet.onnx";

Tensor random_input(int64_t n, uint32_t seed) {
  Tensor t(DType::f32, {n, 1, 28, 28});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = d(rng);
  return t;
}

size_t released_constants(const Graph& g) {
  size_t n = 0;
  for (const Value& v : g.values) n += v.constant && v.constant->empty();
  return n;
}

}  // namespace

TEST_SUITE("session_memory") {
  TEST_CASE("constants are released after the first plan, later shapes reload the file, results unchanged") {
    // Per process: two test runs on one machine (two build trees) must not share the file.
    const fs::path path = fs::temp_directory_path() / ("octet_session_memory_" + std::to_string(::getpid()) + ".onnx");
    fs::copy_file(kModel, path, fs::copy_options::overwrite_existing);
    SessionOptions keep;
    keep.threads = 1;
    keep.keep_constants = true;
    SessionOptions drop = keep;
    drop.keep_constants = false;
    auto ref = Session::load(path.string(), keep);
    auto s = Session::load(path.string(), drop);
    CHECK(released_constants(s->model()) == 0);

    const Tensor x1 = random_input(1, 1), x3 = random_input(3, 2);
    const std::vector<Tensor> r1 = ref->run({x1.view()}), r3 = ref->run({x3.view()});
    CHECK(released_constants(ref->model()) == 0);  // keep_constants: nothing released

    const std::vector<Tensor> a1 = s->run({x1.view()});
    CHECK(released_constants(s->model()) > 0);
    // Still described: every constant keeps its dtype and shape.
    for (const Value& v : s->model().values)
      if (v.constant) CHECK(v.constant->shape() == v.shape());
    const std::vector<Tensor> a3 = s->run({x3.view()});  // a second plan: compiled from a fresh read of the file
    REQUIRE(a1.size() == r1.size());
    REQUIRE(a3.size() == r3.size());
    for (size_t o = 0; o < r1.size(); ++o) {
      REQUIRE(a1[o].numel() == r1[o].numel());
      REQUIRE(a3[o].numel() == r3[o].numel());
      for (int64_t i = 0; i < r1[o].numel(); ++i) CHECK(a1[o].as<float>()[i] == r1[o].as<float>()[i]);
      for (int64_t i = 0; i < r3[o].numel(); ++i) CHECK(a3[o].as<float>()[i] == r3[o].as<float>()[i]);
    }

    // The file changes: a new shape cannot be compiled from it; the compiled shapes still run.
    fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(5));
    const Tensor x2 = random_input(2, 3);
    bool threw = false;
    try {
      s->run({x2.view()});
    } catch (const Error& e) {
      threw = true;
      CHECK(std::string(e.what()).find("the model file changed") != std::string::npos);
      CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
    }
    CHECK(threw);
    const std::vector<Tensor> again = s->run({x1.view()});
    for (int64_t i = 0; i < r1[0].numel(); ++i) CHECK(again[0].as<float>()[i] == r1[0].as<float>()[i]);
    fs::remove(path);
  }
}
