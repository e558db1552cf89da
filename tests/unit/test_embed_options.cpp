// Embedding options over the engine: a session's own thread pool, outputs written into the caller's buffers,
// INT8 at load from a calibration table, and the one rule for a model's preprocessing metadata. The C API is
// checked together with the engine object behind it (engine/c_api_internal.h), to see what it built.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "embed_test_util.h"
#include "engine/c_api_internal.h"
#include "engine/image.h"
#include "engine/plan.h"
#include "engine/session.h"
#include "engine/thread_pool.h"
#include "graph/error.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"
#include "quant/calib_table.h"
#include "quant/calibrator.h"
#include "quant/qdq.h"

using namespace embed_test;

namespace {

const std::string kDemoDir = kSource + "/tests/data/demo/";

octet::Tensor demo_input(int i) { return octet::read_tensor_pb(kDemoDir + "input_" + std::to_string(i) + ".pb"); }

octet_tensor as_c(const octet::Tensor& t) {
  octet_tensor c{};
  c.dtype = OCTET_DTYPE_FLOAT32;
  c.rank = int32_t(t.shape().size());
  std::copy(t.shape().begin(), t.shape().end(), c.shape);
  c.data = const_cast<void*>(t.data());
  c.bytes = t.bytes();
  return c;
}

std::vector<float> run_c(octet_session* s, const octet::Tensor& x) {
  octet_tensor in = as_c(x), out{};
  require_ok(octet_session_run(s, &in, 1, &out, 1));
  const float* p = static_cast<const float*>(out.data);
  std::vector<float> r(p, p + out.bytes / sizeof(float));
  octet_free(out.data);
  return r;
}

// A calibration table for the demo model made with the quant API, as `octet quantize --calib --table` makes one:
// histograms over the 8 demo images, MSE ranges, u8 parameters.
std::string make_table() {
  namespace q = octet::quant;
  const octet::Graph model = octet::load_onnx(kDemoModel);
  const octet::Graph prepared = q::prepare_model(model);
  const q::QdqPlan plan = q::plan_qdq(prepared, {});
  const std::vector<std::string> names = plan.calibrated(prepared);
  q::Calibrator cal(prepared, names, octet::SessionOptions{});
  for (int i = 0; i < 8; ++i) cal.add(demo_input(i).view());
  q::CalibTable table;
  for (const std::string& n : names) {
    const q::Range r = q::choose_range(cal.histograms().at(n), q::Method::mse, 0);
    table.entries.push_back(q::TableEntry{n, r.lo, r.hi, q::u8_params(r)});
  }
  const std::string path = (std::filesystem::temp_directory_path() / "octet_embed_demo_table.txt").string();
  q::write_table(path, table);
  return path;
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("shared_pool=false: two sessions each get their own pool and give the shared pool's results") {
    octet::SessionOptions own;
    own.threads = 2;
    own.shared_pool = false;
    octet::SessionOptions shared = own;
    shared.shared_pool = true;
    octet::Session a(octet::load_onnx(kDemoModel), own), b(octet::load_onnx(kDemoModel), own);
    octet::Session c(octet::load_onnx(kDemoModel), shared);
    const octet::Tensor x = demo_input(3);
    octet::Plan& pa = *a.plan_for({x.shape()});
    octet::Plan& pb = *b.plan_for({x.shape()});
    octet::Plan& pc = *c.plan_for({x.shape()});
    const octet::ThreadPool* global = octet::ThreadPool::shared(2).get();
    REQUIRE(pa.pool());
    REQUIRE(pb.pool());
    CHECK(pa.pool() != pb.pool());
    CHECK(pa.pool() != global);
    CHECK(pb.pool() != global);
    CHECK(pc.pool() == global);
    CHECK(pa.pool()->threads() == 2);
    const octet::Tensor ya = std::move(a.run({x.view()})[0]);
    const octet::Tensor yb = std::move(b.run({x.view()})[0]);
    const octet::Tensor yc = std::move(c.run({x.view()})[0]);
    REQUIRE(ya.bytes() == 40);
    CHECK(std::memcmp(ya.data(), yb.data(), ya.bytes()) == 0);
    CHECK(std::memcmp(ya.data(), yc.data(), ya.bytes()) == 0);
  }

  TEST_CASE("run_into writes the outputs into the caller's buffers, bit-identical to run(); mismatches are errors") {
    octet::Session s(octet::load_onnx(kDemoModel), {});
    const octet::Tensor x = demo_input(5);
    const octet::Tensor want = std::move(s.run({x.view()})[0]);
    std::vector<float> buf(10, -1.0f);
    const octet::TensorView out{octet::DType::f32, {1, 10}, octet::Layout::plain, buf.data()};
    s.run_into({x.view()}, std::span<const octet::TensorView>(&out, 1));
    CHECK(std::memcmp(buf.data(), want.data(), want.bytes()) == 0);
    const octet::TensorView wrong{octet::DType::f32, {1, 9}, octet::Layout::plain, buf.data()};
    CHECK_THROWS_WITH_AS(s.run_into({x.view()}, std::span<const octet::TensorView>(&wrong, 1)),
                         doctest::Contains("output 'output' is float32 1x10, the buffer given for it is float32 1x9"),
                         octet::Error);
  }
}

TEST_SUITE("c_api") {
  TEST_CASE("shared pool option: off gives the session a pool of its own, same results") {
    octet_options* o = nullptr;
    require_ok(octet_options_create(&o));
    require_ok(octet_options_set_threads(o, 2));
    require_ok(octet_options_set_shared_pool(o, 0));
    octet_session *a = nullptr, *b = nullptr, *c = nullptr;
    require_ok(octet_session_create(kDemoModel.c_str(), o, &a));
    require_ok(octet_session_create(kDemoModel.c_str(), o, &b));
    require_ok(octet_options_set_shared_pool(o, 1));
    require_ok(octet_session_create(kDemoModel.c_str(), o, &c));
    octet_options_destroy(o);
    const octet::Tensor x = demo_input(0);
    const std::vector<float> ya = run_c(a, x), yb = run_c(b, x), yc = run_c(c, x);
    CHECK(ya == yb);
    CHECK(ya == yc);
    auto pool = [&](octet_session* s) { return octet::engine_session(s).plan_for({x.shape()})->pool(); };
    CHECK(pool(a) != pool(b));
    CHECK(pool(a) != octet::ThreadPool::shared(2).get());
    CHECK(pool(c) == octet::ThreadPool::shared(2).get());
    CHECK(take(octet_options_set_shared_pool(nullptr, 0)).first == OCTET_ERROR_INVALID_ARGUMENT);
    octet_session_destroy(a);
    octet_session_destroy(b);
    octet_session_destroy(c);
  }

  TEST_CASE("caller-provided output buffers get the bytes the library would allocate, bit for bit") {
    octet_session* s = nullptr;
    require_ok(octet_session_create(kDemoModel.c_str(), nullptr, &s));
    for (int i = 0; i < 8; ++i) {
      const octet::Tensor x = demo_input(i);
      const std::vector<float> want = run_c(s, x);
      std::vector<float> buf(16, -7.0f);  // larger than needed: the tail is left alone
      octet_tensor in = as_c(x), out{};
      out.data = buf.data();
      out.bytes = buf.size() * sizeof(float);
      require_ok(octet_session_run(s, &in, 1, &out, 1));
      CHECK(out.data == buf.data());
      CHECK(out.bytes == 40);
      CHECK(out.rank == 2);
      REQUIRE(want.size() == 10);
      CHECK(std::memcmp(buf.data(), want.data(), 40) == 0);
      CHECK(buf[10] == -7.0f);
      // ONNX Runtime's output for the same image, within 1e-4.
      const FloatTensor ref = read_pb(kDemoDir + "output_" + std::to_string(i) + ".pb");
      for (size_t k = 0; k < 10; ++k) CHECK(buf[k] == doctest::Approx(ref.data[k]).epsilon(1e-4));
    }
    octet_session_destroy(s);
  }

  TEST_CASE("INT8 at load from a calibration table: QConv in the plan, top-1 of FP32 on the 8 demo images") {
    const std::string table = make_table();
    octet_options* o = nullptr;
    require_ok(octet_options_create(&o));
    require_ok(octet_options_set_precision(o, OCTET_PRECISION_INT8));
    octet_session* none = nullptr;
    auto [code, msg] = take(octet_session_create(kDemoModel.c_str(), o, &none));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("needs a calibration table") != std::string::npos);
    CHECK(msg.find("octet quantize") != std::string::npos);
    CHECK(none == nullptr);

    require_ok(octet_options_set_calibration_table(o, table.c_str()));
    octet_session *q = nullptr, *f = nullptr;
    require_ok(octet_session_create(kDemoModel.c_str(), o, &q));
    require_ok(octet_session_create(kDemoModel.c_str(), nullptr, &f));
    octet_options_destroy(o);

    int qconv = 0, fconv = 0;
    for (const octet::NodeReport& r : octet::engine_session(q).describe()) qconv += r.op == "QConv";
    for (const octet::NodeReport& r : octet::engine_session(f).describe()) fconv += r.op == "Conv";
    CHECK(qconv == 6);  // every Conv of the demo model runs as int8
    CHECK(fconv == 6);
    CHECK(std::string(octet_session_metadata(q, "octet.resize")) == "28");  // metadata survives quantization

    int agree = 0;
    for (int i = 0; i < 8; ++i) {
      const octet::Tensor x = demo_input(i);
      const std::vector<float> yq = run_c(q, x), yf = run_c(f, x);
      REQUIRE(yq.size() == 10);
      agree += argmax(yq.data(), 10) == argmax(yf.data(), 10);
      CHECK(yq != yf);  // really another computation, not the FP32 graph
    }
    CHECK(agree == 8);
    octet_session_destroy(q);
    octet_session_destroy(f);

    // A table without a line the model needs names the tensor.
    const std::string partial = table + ".partial";
    octet::quant::CalibTable t = octet::quant::read_table(table);
    const std::string dropped = t.entries.back().name;
    t.entries.pop_back();
    octet::quant::write_table(partial, t);
    require_ok(octet_options_create(&o));
    require_ok(octet_options_set_precision(o, OCTET_PRECISION_INT8));
    require_ok(octet_options_set_calibration_table(o, partial.c_str()));
    auto [pcode, pmsg] = take(octet_session_create(kDemoModel.c_str(), o, &none));
    octet_options_destroy(o);
    CHECK(pcode == OCTET_ERROR_BAD_INPUT);
    CHECK(pmsg.find("no line for tensor '" + dropped + "'") != std::string::npos);
    std::filesystem::remove(table);
    std::filesystem::remove(partial);
  }

  TEST_CASE("preprocessing hints from metadata: one rule for infer and the image helper") {
    octet::Graph g;
    g.path = "m.onnx";
    octet::ImageOptions d = octet::image_options_from_metadata(g, 3);
    CHECK(d.resize == 0);
    CHECK(d.crop);
    CHECK(d.mean.empty());
    g.metadata["octet.resize"] = "32";
    g.metadata["octet.crop"] = "0";
    g.metadata["octet.mean"] = "0.5,0.25,0.125";
    g.metadata["octet.std"] = "2";
    octet::ImageOptions o = octet::image_options_from_metadata(g, 3);
    CHECK(o.resize == 32);
    CHECK_FALSE(o.crop);
    CHECK(o.mean == std::vector<float>{0.5f, 0.25f, 0.125f});
    CHECK(o.std == std::vector<float>{2.0f});
    CHECK_THROWS_WITH_AS(octet::image_options_from_metadata(g, 1),
                         "m.onnx: metadata_props 'octet.mean' has 3 values, the image input has 1 channels",
                         octet::Error);
    CHECK(octet::image_options_from_metadata(g).mean.size() == 3);  // channels 0: not checked
    g.metadata["octet.resize"] = "-4";
    CHECK_THROWS_WITH_AS(octet::image_options_from_metadata(g, 3),
                         "m.onnx: metadata_props 'octet.resize' = '-4' is not a positive integer", octet::Error);
    g.metadata["octet.resize"] = "32";
    g.metadata["octet.std"] = "1,x";
    CHECK_THROWS_WITH_AS(octet::image_options_from_metadata(g, 3),
                         "m.onnx: metadata_props 'octet.std' = '1,x' is not a comma list of numbers", octet::Error);
  }
}
