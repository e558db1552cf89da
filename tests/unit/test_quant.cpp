// quant/: histogram maths against hand-computed cases (each method), the calibration table round trip, weight and
// bias quantization, the QDQ plan and rewrite on the demo model, and the quantized demo model against FP32.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "engine/session.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"
#include "quant/calib_table.h"
#include "quant/calibrator.h"
#include "quant/histogram.h"
#include "quant/qdq.h"

using namespace octet;
using namespace octet::quant;

namespace {

const std::string kModel = std::string(OCTET_SOURCE_DIR) + "/models/fmnist_resnet.onnx";
const std::string kDemo = std::string(OCTET_SOURCE_DIR) + "/tests/data/demo/";

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("octet_test_quant_" + name)).string();
}

int argmax(const Tensor& t, int64_t row, int64_t cols) {
  int best = 0;
  for (int64_t j = 1; j < cols; ++j)
    if (t.as<float>()[row * cols + j] > t.as<float>()[row * cols + best]) best = int(j);
  return best;
}

}  // namespace

TEST_SUITE("quant") {

TEST_CASE("histogram bins values and grows by exact pair merges") {
  Histogram h(4);
  const float a[] = {0, 1, 2, 3};
  h.add(a, 4);  // [0, 3], width 0.75: 0->0, 1->1, 2->2, 3 (the upper edge) -> 3
  CHECK(h.lo() == 0);
  CHECK(h.hi() == doctest::Approx(3));
  CHECK(h.counts() == std::vector<int64_t>{1, 1, 1, 1});
  const float b[] = {-3};
  h.add(b, 1);  // doubles to the left: [-3, 3], width 1.5; old pairs go to bins 2, 3; -3 -> bin 0
  CHECK(h.lo() == doctest::Approx(-3));
  CHECK(h.counts() == std::vector<int64_t>{1, 0, 2, 2});
  // The same five values binned over [-3, 3] from the start: -3->0, 0->2, 1->2, 2->3, 3->3.
  CHECK(h.count() == 5);
  CHECK(h.min() == -3);
  CHECK(h.max() == 3);
  const float bad[] = {NAN, INFINITY};
  h.add(bad, 2);
  CHECK(h.count() == 5);
  CHECK(h.non_finite() == 2);
  // Growth to the right: [0, 3] -> [0, 6] merges (0,1) and (2,3).
  Histogram r(4);
  const float c[] = {0.1f, 0.9f, 1.6f, 2.4f};
  r.add(c, 4);  // [0, 2.4], width 0.6: bins 0, 1, 2, 3
  const float d[] = {4.7f};
  r.add(d, 1);  // [0, 4.8], width 1.2: 0.1, 0.9 -> 0; 1.6, 2.4 -> 1; 4.7 -> 3
  CHECK(r.hi() == doctest::Approx(4.8));
  CHECK(r.counts() == std::vector<int64_t>{2, 2, 0, 1});
}

TEST_CASE("minmax and u8 parameters") {
  Histogram h(-1, 3, {1, 1, 1, 1}, -0.5f, 2.f);
  Range r = range_minmax(h);
  CHECK(r.lo == -0.5);
  CHECK(r.hi == 2.0);
  Histogram pos(0, 4, {0, 1, 1, 0}, 1.f, 2.f);
  CHECK(range_minmax(pos).lo == 0);  // 0 is always representable
  // [-0.51, 2.04]: scale 2.55 / 255 = 0.01, zero point round(0.51 / 0.01) = 51.
  QParams p = u8_params(Range{-0.51, 2.04});
  CHECK(p.scale == doctest::Approx(0.01f).epsilon(1e-6));
  CHECK(p.zero_point == 51);
  p = u8_params(Range{0, 2.55});
  CHECK(p.zero_point == 0);
  p = u8_params(Range{0, 0});  // all zeros: any scale represents them; 1 keeps DequantizeLinear finite
  CHECK(p.scale == 1.0f);
  CHECK(p.zero_point == 0);
}

TEST_CASE("percentile cuts (100 - p) / 2 percent off each end") {
  // 100 values in [0, 10), width 1. p = 98 cuts 1 value per side: keep = 99.
  Histogram h(0, 10, {50, 30, 10, 5, 3, 1, 0, 0, 0, 1}, 0.f, 9.9f);
  // Cumulative 50, 80, 90, 95, 98, 99: first reaching 99 is bin 5, right edge 6. From the right the suffix reaches
  // 99 only at bin 0: left edge 0.
  Range r = range_percentile(h, 98);
  CHECK(r.lo == 0);
  CHECK(r.hi == doctest::Approx(6));
  // p = 100 keeps everything: bin 9's right edge 10, clamped to the exact max 9.9.
  CHECK(range_percentile(h, 100).hi == doctest::Approx(9.9));
  // Signed: [-4, 4), width 1; one outlier on each side.
  Histogram s(-4, 4, {1, 0, 0, 49, 49, 0, 0, 1}, -3.5f, 3.5f);
  r = range_percentile(s, 98);  // cumulative 1,1,1,50,99 -> bin 4, edge 1; suffix 1,1,1,50,99 -> bin 3, edge -1
  CHECK(r.lo == doctest::Approx(-1));
  CHECK(r.hi == doctest::Approx(1));
}

TEST_CASE("candidate windows keep the share left of zero") {
  Histogram h(-1, 3, std::vector<int64_t>(8, 1), -1.f, 3.f);  // f_left = 1/4
  int a, b;
  candidate_window(h, 4, &a, &b);  // a = round(0.25 * (8 - 4)) = 1
  CHECK(a == 1);
  CHECK(b == 5);
  candidate_window(h, 8, &a, &b);
  CHECK(a == 0);
  CHECK(b == 8);
}

TEST_CASE("entropy picks the window of least KL divergence") {
  // [0, 4), width 1, counts {4, 2, 0, 1}, 2 levels. Worked by hand (P with outliers on the edge bin, Q spread
  // over P's non-zero bins, p = P / 7, q = Q / (counts inside the window)):
  //   n = 4: P {4,2,0,1}, Q {3,3,0,1}/7            KL = 4/7 ln(4/3) + 2/7 ln(2/3)                      = 0.0485
  //   n = 3: P {4,2,1},   Q {4,1,1}/6              KL = 4/7 ln(6/7) + 2/7 ln(12/7) + 1/7 ln(6/7)      = 0.0439
  //   n = 2: P {4,3},     Q {4,2}/6                KL = 4/7 ln(6/7) + 3/7 ln(9/7)                      = 0.0196
  // so n = 2: the range [0, 2].
  Histogram h(0, 4, {4, 2, 0, 1}, 0.f, 3.5f);
  Range r = range_entropy(h, 2);
  CHECK(r.lo == 0);
  CHECK(r.hi == doctest::Approx(2));
  // With all mass in the first bin and one outlier far out, clipping the outlier loses least.
  Histogram tail(0, 8, {90, 9, 0, 0, 0, 0, 0, 1}, 0.f, 7.9f);
  CHECK(range_entropy(tail, 2).hi < 7.9);
}

TEST_CASE("mse picks the window of least expected squared error") {
  // Same histogram, 2 levels (q in {0, 1}), bin centres 0.5, 1.5, 2.5, 3.5 with counts 4, 2, 0, 1:
  //   n = 4: [0, 3.5] s = 3.5: errors 4*.25 + 2*2.25 + 0           = 5.5
  //   n = 3: [0, 3]   s = 3:   1.5/3 = .5 rounds to even 0: 1 + 4.5 + 1*.25 = 5.75
  //   n = 2: [0, 2]   s = 2:   1 + 2*.25 + 1*(3.5-2)^2              = 3.75
  //   n = 1: [0, 1]   s = 1:   1 + 2*.25 + 1*(3.5-1)^2              = 7.75
  Histogram h(0, 4, {4, 2, 0, 1}, 0.f, 3.5f);
  Range r = range_mse(h, 2);
  CHECK(r.lo == 0);
  CHECK(r.hi == doctest::Approx(2));
  // 256 levels on a uniform histogram: clipping anything costs more than the finer step saves.
  Histogram u(0, 1, std::vector<int64_t>(64, 100), 0.f, 1.f);
  CHECK(range_mse(u).hi == doctest::Approx(1.0));
  CHECK(parse_method("mse") == Method::mse);
  CHECK_THROWS_AS(parse_method("kl"), Error);
}

TEST_CASE("calibration table round trip, derived parameters and errors") {
  CalibTable t;
  t.header = {"method: mse"};
  t.entries.push_back({"input", 0, 1, QParams{1.0f / 255.0f, 0}});
  t.entries.push_back({"a tensor with spaces", -0.123456789, 2.5, QParams{0.0102883913f, 12}});
  const std::string path = tmp_path("table.txt");
  write_table(path, t);
  CalibTable r = read_table(path);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.header.front() == "method: mse");
  for (size_t i = 0; i < 2; ++i) {
    CHECK(r.entries[i].name == t.entries[i].name);
    CHECK(r.entries[i].min == doctest::Approx(t.entries[i].min).epsilon(1e-8));
    CHECK(r.entries[i].max == doctest::Approx(t.entries[i].max).epsilon(1e-8));
    CHECK(r.entries[i].params.scale == t.entries[i].params.scale);  // bit-exact through %.9g
    CHECK(r.entries[i].params.zero_point == t.entries[i].params.zero_point);
  }
  auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  };
  write("# edited\nx -0.51 2.04 - -\n");  // derived: scale 0.01, zero point 51
  r = read_table(path);
  CHECK(r.entries[0].params.scale == doctest::Approx(0.01f).epsilon(1e-6));
  CHECK(r.entries[0].params.zero_point == 51);
  write("x 0 1 0.1 300\n");
  CHECK_THROWS_WITH_AS(read_table(path), doctest::Contains(":1: tensor 'x': zero_point 300"), Error);
  write("\n\nx 0 1 0.1\n");
  CHECK_THROWS_WITH_AS(read_table(path), doctest::Contains(":3: expected 'tensor min max scale zero_point'"), Error);
  write("x 2 1 0.1 0\n");
  CHECK_THROWS_WITH_AS(read_table(path), doctest::Contains("min 2 > max 1"), Error);
  write("x 0 1 0.1 0\nx 0 1 0.1 0\n");
  CHECK_THROWS_WITH_AS(read_table(path), doctest::Contains(":2: tensor 'x' is listed twice"), Error);
  write("x 0 1 0 0\n");
  CHECK_THROWS_WITH_AS(read_table(path), doctest::Contains("scale 0 must be positive"), Error);
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(read_table(path), doctest::Contains("cannot open calibration table"), Error);
}

TEST_CASE("per-channel symmetric weight quantization") {
  // Conv weight [2, 1, 1, 2], axis 0: channel 0 {1, -0.25}: scale 1/127, q {127, round(-31.75) = -32};
  // channel 1 all zero: scale 1, q 0.
  Tensor w(DType::f32, {2, 1, 1, 2});
  const float wv[] = {1.0f, -0.25f, 0, 0};
  std::copy(wv, wv + 4, w.as<float>());
  QuantizedWeight q = quantize_weight(w, 0);
  CHECK(q.scale[0] == doctest::Approx(1.0f / 127));
  CHECK(q.scale[1] == 1.0f);
  CHECK(q.q.as<int8_t>()[0] == 127);
  CHECK(q.q.as<int8_t>()[1] == -32);
  CHECK(q.q.as<int8_t>()[2] == 0);
  // Gemm B [K=2, N=2] with transB = 0, axis 1: column 0 {1, -0.25}, column 1 {4, -4}.
  Tensor b(DType::f32, {2, 2});
  const float bv[] = {1.0f, 4.0f, -0.25f, -4.0f};
  std::copy(bv, bv + 4, b.as<float>());
  q = quantize_weight(b, 1);
  CHECK(q.scale[1] == doctest::Approx(4.0f / 127));
  const int8_t want[] = {127, 127, -32, -127};
  for (int i = 0; i < 4; ++i) CHECK(q.q.as<int8_t>()[i] == want[i]);
  // 7 bits (ORT's reduce_range): qmax 63; channel 0 {1, -0.25}: scale 1/63, q {63, round(-15.75) = -16}.
  q = quantize_weight(w, 0, 7);
  CHECK(q.scale[0] == doctest::Approx(1.0f / 63));
  CHECK(q.q.as<int8_t>()[0] == 63);
  CHECK(q.q.as<int8_t>()[1] == -16);
  CHECK_THROWS_AS(quantize_weight(w, 0, 6), Error);
}

TEST_CASE("QDQ plan and rewrite of the demo model") {
  const Graph model = load_onnx(kModel);
  const Graph prepared = prepare_model(model);
  int bn = 0;
  for (const Node& n : prepared.nodes) bn += n.op_type == "BatchNormalization";
  CHECK(bn == 0);  // folded into the convs
  CHECK(prepared.values[prepared.inputs[0]].dims[0].symbol == "N");  // the batch stays symbolic

  const QdqPlan plan = plan_qdq(prepared, {});
  CHECK(plan.weighted.size() == 7);  // 6 Conv + Gemm
  CHECK(plan.removed.size() == 6);   // every Relu follows a Conv or an Add read only by it
  const std::vector<std::string> cal = plan.calibrated(prepared);
  CHECK(cal.size() == 11);
  CHECK(plan.activations.size() == 13);  // + MaxPool and Flatten outputs, sharing their inputs' parameters
  const int flat = prepared.find_value("/features/features.6/Flatten_output_0");
  const int gap = prepared.find_value("/features/features.5/GlobalAveragePool_output_0");
  CHECK(plan.activations.at(flat) == gap);

  // Excluding a Relu keeps it (FP32) and quantizes the conv output before it instead.
  const QdqPlan ex = plan_qdq(prepared, {"/features/features.0/features.0.2/Relu"});
  CHECK(ex.removed.size() == 5);
  CHECK_THROWS_WITH_AS(plan_qdq(prepared, {"nope"}), doctest::Contains("--exclude names node 'nope'"), Error);

  // Parameters from a calibration on the 8 demo images.
  Calibrator c(prepared, cal, SessionOptions{});
  for (int i = 0; i < 8; ++i) c.add(read_tensor_pb(kDemo + "input_" + std::to_string(i) + ".pb").view());
  CHECK(c.samples() == 8);
  std::map<std::string, QParams> params;
  for (const auto& [name, h] : c.histograms()) {
    params[name] = u8_params(choose_range(h, Method::mse, 0));
    if (name.find("Relu") != std::string::npos) CHECK(params[name].zero_point == 0);  // min = 0 after ReLU
  }
  CHECK(params.at("input").scale == doctest::Approx(1.0f / 255));  // pixels / 255 span [0, 1]

  const Graph q = apply_qdq(prepared, plan, params, "test");
  int nq = 0, ndq = 0, relu = 0;
  for (const Node& n : q.nodes) {
    nq += n.op_type == "QuantizeLinear";
    ndq += n.op_type == "DequantizeLinear";
    relu += n.op_type == "Relu";
  }
  CHECK(nq == 13);
  CHECK(ndq == 13 + 7 + 7);  // activations, weights, biases
  CHECK(relu == 0);
  // The graph output keeps its name: DQ writes "output".
  const Value& out = q.values[q.outputs[0]];
  CHECK(out.name == "output");
  CHECK(q.nodes[out.producer].op_type == "DequantizeLinear");
  // Bias: int32 q = round(b / (s_x * s_w[c])) with scale s_x * s_w[c].
  const int bq = q.find_value("classifier.bias_quantized"), bs = q.find_value("classifier.bias_scale");
  const int ws = q.find_value("classifier.weight_scale");
  REQUIRE(bq >= 0);
  const float s_x = params.at("/features/features.5/GlobalAveragePool_output_0").scale;
  const Tensor& b = *model.values[model.find_value("classifier.bias")].constant;
  for (int c2 = 0; c2 < 10; ++c2) {
    const float want_scale = s_x * q.values[ws].constant->as<float>()[c2];
    CHECK(q.values[bs].constant->as<float>()[c2] == want_scale);
    CHECK(q.values[bq].constant->as<int32_t>()[c2] == int32_t(std::nearbyint(double(b.as<float>()[c2]) / want_scale)));
  }
  // Written and read back as a valid model.
  const std::string path = tmp_path("demo_qdq.onnx");
  save_onnx(q, path);
  const Graph back = load_onnx(path);
  CHECK(back.opset("") == 13);
  CHECK(back.metadata.at("octet.quantization") == "test");
  CHECK(back.metadata.at("octet.resize") == "28");

  // Run by octet if its QuantizeLinear/DequantizeLinear kernels are there; its top-1 must match FP32's on every
  // demo image (ONNX Runtime's check of the same file is in tests/cli/quantize.sh).
  std::unique_ptr<Session> qs;
  try {
    qs = Session::load(path);
  } catch (const Unsupported& e) {
    MESSAGE("octet cannot run the QDQ model yet: " << e.what());
  }
  if (qs) {
    auto fs = Session::load(kModel);
    for (int i = 0; i < 8; ++i) {
      Tensor x = read_tensor_pb(kDemo + "input_" + std::to_string(i) + ".pb");
      Tensor yf = std::move(fs->run({x.view()})[0]);
      Tensor yq = std::move(qs->run({x.view()})[0]);
      CHECK(argmax(yq, 0, 10) == argmax(yf, 0, 10));
    }

    // The int8 weights (>= 4 KB each here) borrow the file's mapping until the first plan packs them
    // (load_onnx's borrow): the results are those of a session that copied them (keep_constants), bit for bit.
    const Graph borrowed = load_onnx(path, true), copied = load_onnx(path, false);
    size_t n_borrowed = 0;
    for (size_t v = 0; v < borrowed.values.size(); ++v) {
      const auto& b = borrowed.values[v].constant;
      if (!b || b->dtype() != DType::i8) continue;
      const auto& c = copied.values[v].constant;
      REQUIRE(c);
      CHECK(std::memcmp(b->data(), c->data(), b->bytes()) == 0);
      n_borrowed += b->borrowed();
      CHECK(!c->borrowed());
    }
    CHECK(n_borrowed > 0);
    SessionOptions keep;
    keep.keep_constants = true;
    auto qk = Session::load(path, keep);
    auto qb = Session::load(path);
    for (int i = 0; i < 8; ++i) {
      Tensor x = read_tensor_pb(kDemo + "input_" + std::to_string(i) + ".pb");
      Tensor yk = std::move(qk->run({x.view()})[0]);
      Tensor yb = std::move(qb->run({x.view()})[0]);
      REQUIRE(yk.bytes() == yb.bytes());
      CHECK(std::memcmp(yk.data(), yb.data(), yk.bytes()) == 0);
    }
    // A file that changes between the load and the first run is refused (its weights would be read from it).
    auto late = Session::load(path);
    std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
    Tensor x = read_tensor_pb(kDemo + "input_0.pb");
    CHECK_THROWS_WITH_AS(late->run({x.view()}), doctest::Contains("the model file changed"), Error);
  }
  std::remove(path.c_str());
}

TEST_CASE("a model below opset 13 is upgraded by prepare_model; plan_qdq refuses an unprepared one") {
  Graph g = load_onnx(kModel);
  g.opsets[""] = 11;  // the demo's ops have the same definitions at 11 and 13
  CHECK_THROWS_WITH_AS(plan_qdq(g, {}), doctest::Contains("opset 11 is below 13"), Error);
  const Graph prepared = prepare_model(g);
  CHECK(prepared.opset("") == 13);
  CHECK(plan_qdq(prepared, {}).weighted.size() == 7);
}

TEST_CASE("the QDQ rewrite names every node uniquely, also for a bias two convs share") {
  // torch's exporter shares identical initializers (e.g. two all-zero biases): each conv's bias gets its own
  // int32 DequantizeLinear (its scale depends on the conv's weights), and the two must not share a name.
  Graph prepared = prepare_model(load_onnx(kModel));  // BatchNormalization folded: every conv has a bias now
  int first = -1, shared = 0;
  for (Node& n : prepared.nodes) {
    if (n.op_type != "Conv" || n.inputs.size() < 3) continue;
    const Shape bs = prepared.values[n.inputs[2]].constant->shape();
    if (first < 0) first = n.inputs[2];
    else if (prepared.values[first].constant->shape() == bs && n.inputs[2] != first) {
      n.inputs[2] = first;
      ++shared;
    }
  }
  REQUIRE(shared > 0);
  const QdqPlan plan = plan_qdq(prepared, {});
  std::map<std::string, QParams> params;
  for (const std::string& t : plan.calibrated(prepared)) params[t] = QParams{0.05f, 10};
  const Graph q = apply_qdq(prepared, plan, params, "test");
  std::set<std::string> names;
  for (const Node& n : q.nodes) {
    CAPTURE(n.name);
    CHECK(names.insert(n.name).second);
  }
}

}  // TEST_SUITE
