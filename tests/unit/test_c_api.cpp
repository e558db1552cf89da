// The public API as an embedding program sees it: the C API (octet/octet.h) and the C++ layer (octet/octet.hpp),
// checked against ONNX Runtime's outputs for the demo model (tests/data/demo) and the sample images' labels.
#include <atomic>
#include <fstream>
#include <thread>

#include "embed_test_util.h"
#include "octet/octet.hpp"

using namespace embed_test;

namespace {

octet_tensor input_tensor(const std::vector<float>& data, std::vector<int64_t> shape) {
  octet_tensor t{};
  t.dtype = OCTET_DTYPE_FLOAT32;
  t.rank = int32_t(shape.size());
  std::copy(shape.begin(), shape.end(), t.shape);
  t.data = const_cast<float*>(data.data());
  t.bytes = data.size() * sizeof(float);
  return t;
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct SessionFixture {
  octet_session* s = nullptr;
  explicit SessionFixture(const octet_options* opt = nullptr) {
    require_ok(octet_session_create(kDemoModel.c_str(), opt, &s));
  }
  ~SessionFixture() { octet_session_destroy(s); }
};

}  // namespace

TEST_SUITE("c_api") {
  TEST_CASE("version: the header's macros, the library's string and the project's version agree") {
    const std::string v = octet_version();
    CHECK(v == std::to_string(OCTET_VERSION_MAJOR) + "." + std::to_string(OCTET_VERSION_MINOR) + "." +
                   std::to_string(OCTET_VERSION_PATCH));
    CHECK(v == OCTET_VERSION);  // the CMake project version, compiled into the library
    CHECK(octet::version() == v);
  }

  TEST_CASE("names, dtypes and shapes; setting the batch fixes the output shape") {
    SessionFixture f;
    REQUIRE(octet_session_input_count(f.s) == 1);
    REQUIRE(octet_session_output_count(f.s) == 1);
    CHECK(std::string(octet_session_input_name(f.s, 0)) == "input");
    CHECK(std::string(octet_session_output_name(f.s, 0)) == "output");
    CHECK(octet_session_input_name(f.s, 1) == nullptr);
    CHECK(octet_session_input_index(f.s, "input") == 0);
    CHECK(octet_session_output_index(f.s, "nope") == -1);
    octet_tensor info;
    require_ok(octet_session_input_info(f.s, 0, &info));
    CHECK(info.dtype == OCTET_DTYPE_FLOAT32);
    REQUIRE(info.rank == 4);
    CHECK(std::vector<int64_t>(info.shape, info.shape + 4) == std::vector<int64_t>{-1, 1, 28, 28});
    CHECK(info.bytes == 0);
    require_ok(octet_session_output_info(f.s, 0, &info));
    REQUIRE(info.rank == 2);
    CHECK(std::vector<int64_t>(info.shape, info.shape + 2) == std::vector<int64_t>{-1, 10});

    const int64_t batch4[4] = {4, 1, 28, 28};
    require_ok(octet_session_set_input_shape(f.s, 0, batch4, 4));
    require_ok(octet_session_input_info(f.s, 0, &info));
    CHECK(info.shape[0] == 4);
    CHECK(info.bytes == 4 * 28 * 28 * sizeof(float));
    require_ok(octet_session_output_info(f.s, 0, &info));
    CHECK(std::vector<int64_t>(info.shape, info.shape + 2) == std::vector<int64_t>{4, 10});
    CHECK(info.bytes == 4 * 10 * sizeof(float));

    const int64_t rgb[4] = {1, 3, 28, 28};
    auto [code, msg] = take(octet_session_set_input_shape(f.s, 0, rgb, 4));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("fmnist_resnet.onnx: input 'input' expects shape Nx1x28x28, got 1x3x28x28") != std::string::npos);
    CHECK(take(octet_session_output_info(f.s, 3, &info)).first == OCTET_ERROR_INVALID_ARGUMENT);

    const char* labels = octet_session_metadata(f.s, "labels");
    REQUIRE(labels);
    CHECK(line(labels, 0) == "T-shirt/top");
    CHECK(octet_session_metadata(f.s, "no such key") == nullptr);
  }

  TEST_CASE("run on ONNX Runtime's demo inputs: outputs within 1e-4, into the caller's buffer or allocated") {
    SessionFixture f;
    for (int i = 0; i < 8; ++i) {
      FloatTensor in = read_pb(kSource + "/tests/data/demo/input_" + std::to_string(i) + ".pb");
      FloatTensor want = read_pb(kSource + "/tests/data/demo/output_" + std::to_string(i) + ".pb");
      octet_tensor x = input_tensor(in.data, in.shape);
      std::vector<float> mine(10);
      octet_tensor out{};
      out.data = mine.data();
      out.bytes = mine.size() * sizeof(float);
      require_ok(octet_session_run(f.s, &x, 1, &out, 1));
      CHECK(out.data == mine.data());  // written in place
      CHECK(out.dtype == OCTET_DTYPE_FLOAT32);
      CHECK(out.rank == 2);
      CHECK(out.bytes == 40);
      for (size_t k = 0; k < 10; ++k) CHECK(mine[k] == doctest::Approx(want.data[k]).epsilon(1e-4));

      octet_tensor alloc{};  // data NULL: the library allocates
      require_ok(octet_session_run(f.s, &x, 1, &alloc, 1));
      REQUIRE(alloc.data);
      CHECK(alloc.bytes == 40);
      CHECK(std::memcmp(alloc.data, mine.data(), 40) == 0);
      octet_free(alloc.data);
    }
    // The batch of four ONNX Runtime ran as one.
    FloatTensor in = read_pb(kSource + "/tests/data/demo/input_batch4.pb");
    FloatTensor want = read_pb(kSource + "/tests/data/demo/output_batch4.pb");
    octet_tensor x = input_tensor(in.data, in.shape);
    octet_tensor out{};
    require_ok(octet_session_run(f.s, &x, 1, &out, 1));
    REQUIRE(out.bytes == want.data.size() * sizeof(float));
    for (size_t k = 0; k < want.data.size(); ++k)
      CHECK(static_cast<float*>(out.data)[k] == doctest::Approx(want.data[k]).epsilon(1e-4));
    octet_free(out.data);
  }

  TEST_CASE("inputs are read in place, also from an unaligned address; a model from memory runs the same") {
    SessionFixture f;
    FloatTensor in = read_pb(kSource + "/tests/data/demo/input_3.pb");
    std::vector<float> aligned(10), unaligned_out(10), memory_out(10);
    octet_tensor x = input_tensor(in.data, in.shape);
    octet_tensor o{OCTET_DTYPE_UNDEFINED, 0, {}, aligned.data(), 40};
    require_ok(octet_session_run(f.s, &x, 1, &o, 1));

    // Shifted by one float's worth of bytes plus one: no alignment at all.
    std::vector<char> raw(in.data.size() * sizeof(float) + 1);
    std::memcpy(raw.data() + 1, in.data.data(), in.data.size() * sizeof(float));
    octet_tensor xu = x;
    xu.data = raw.data() + 1;
    o.data = unaligned_out.data();
    require_ok(octet_session_run(f.s, &xu, 1, &o, 1));
    CHECK(std::memcmp(aligned.data(), unaligned_out.data(), 40) == 0);

    const std::string model = file_bytes(kDemoModel);
    octet_session* m = nullptr;
    require_ok(octet_session_create_from_memory(model.data(), model.size(), nullptr, &m));
    o.data = memory_out.data();
    require_ok(octet_session_run(m, &x, 1, &o, 1));
    CHECK(std::memcmp(aligned.data(), memory_out.data(), 40) == 0);
    octet_session_destroy(m);
  }

  TEST_CASE("image helper: the demo images preprocess as infer does and classify as their file names say") {
    SessionFixture f;
    const std::vector<Sample> all = samples();
    for (size_t i = 0; i < all.size(); ++i) {
      CAPTURE(all[i].path);
      octet_tensor img{};
      require_ok(octet_image_load(f.s, 0, all[i].path.c_str(), &img));
      REQUIRE(img.rank == 4);
      CHECK(std::vector<int64_t>(img.shape, img.shape + 4) == std::vector<int64_t>{1, 1, 28, 28});
      // tests/data/demo/input_i.pb is PIL's preprocessing of the same image (images in name order).
      FloatTensor ref = read_pb(kSource + "/tests/data/demo/input_" + std::to_string(i) + ".pb");
      REQUIRE(img.bytes == ref.data.size() * sizeof(float));
      const float* px = static_cast<const float*>(img.data);
      float worst = 0;
      for (size_t k = 0; k < ref.data.size(); ++k) worst = std::max(worst, std::fabs(px[k] - ref.data[k]));
      CHECK(worst <= 1e-6f);

      octet_tensor out{};
      require_ok(octet_session_run(f.s, &img, 1, &out, 1));
      const size_t top = argmax(static_cast<const float*>(out.data), 10);
      CHECK(file_label(line(octet_session_metadata(f.s, "labels"), top)) == all[i].label);
      octet_free(out.data);

      // The same bytes from memory.
      const std::string png = file_bytes(all[i].path);
      octet_tensor mem{};
      require_ok(octet_image_decode(f.s, 0, png.data(), png.size(), &mem));
      CHECK(std::memcmp(mem.data, img.data, img.bytes) == 0);
      octet_free(mem.data);
      octet_free(img.data);
    }
    // Into a too small buffer: refused, nothing written.
    std::vector<float> small(10, 7.0f);
    octet_tensor out{};
    out.data = small.data();
    out.bytes = small.size() * sizeof(float);
    auto [code, msg] = take(octet_image_load(f.s, 0, all[0].path.c_str(), &out));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("needs 3136 bytes, the buffer has 40") != std::string::npos);
    CHECK(small[0] == 7.0f);
    auto [code2, msg2] = take(octet_image_load(f.s, 0, "/no/such.png", &out));
    CHECK(code2 == OCTET_ERROR_BAD_INPUT);
    CHECK(msg2.find("/no/such.png") != std::string::npos);
  }

  TEST_CASE("errors: a clear message and code, never a crash") {
    octet_session* s = reinterpret_cast<octet_session*>(1);
    auto [code, msg] = take(octet_session_create("/no/model.onnx", nullptr, &s));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("/no/model.onnx") != std::string::npos);
    CHECK(s == nullptr);
    std::tie(code, msg) = take(octet_session_create((kSource + "/tests/data/bad/unknown_ops.onnx").c_str(), nullptr, &s));
    CHECK(code == OCTET_ERROR_UNSUPPORTED);
    CHECK(msg.find("unknown_ops.onnx: unsupported op") != std::string::npos);
    const char garbage[] = "not a model";
    std::tie(code, msg) = take(octet_session_create_from_memory(garbage, sizeof garbage, nullptr, &s));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("<memory>") != std::string::npos);

    octet_options* opt = nullptr;
    require_ok(octet_options_create(&opt));
    std::tie(code, msg) = take(octet_options_set_max_isa(opt, "sse9"));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("'sse9' is not an ISA tier") != std::string::npos);
    CHECK(take(octet_options_set_threads(opt, -2)).first == OCTET_ERROR_INVALID_ARGUMENT);
    require_ok(octet_options_set_precision(opt, OCTET_PRECISION_INT8));
    std::tie(code, msg) = take(octet_session_create(kDemoModel.c_str(), opt, &s));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);  // INT8 without a calibration table (test_embed_options.cpp)
    CHECK(msg.find("calibration table") != std::string::npos);
    octet_options_destroy(opt);

    SessionFixture f;
    std::vector<float> x(28 * 28), y(10);
    octet_tensor in = input_tensor(x, {1, 1, 28, 28});
    octet_tensor out{OCTET_DTYPE_UNDEFINED, 0, {}, y.data(), 40};
    std::tie(code, msg) = take(octet_session_run(f.s, &in, 1, &out, 2));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg == "octet_session_run: got 2 outputs, the model has 1");
    octet_tensor wrong = input_tensor(x, {1, 1, 14, 56});
    std::tie(code, msg) = take(octet_session_run(f.s, &wrong, 1, &out, 1));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("input 'input' expects shape Nx1x28x28, got 1x1x14x56") != std::string::npos);
    octet_tensor short_buf = in;
    short_buf.bytes = 100;
    std::tie(code, msg) = take(octet_session_run(f.s, &short_buf, 1, &out, 1));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("needs 3136 bytes, the buffer has 100") != std::string::npos);
    octet_tensor ints = in;
    ints.dtype = OCTET_DTYPE_INT32;
    std::tie(code, msg) = take(octet_session_run(f.s, &ints, 1, &out, 1));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("expects float32, got int32") != std::string::npos);
    out.bytes = 39;
    std::tie(code, msg) = take(octet_session_run(f.s, &in, 1, &out, 1));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("output 0 ('output') is float32 1x10: needs 40 bytes, the buffer has 39") != std::string::npos);
    CHECK(take(octet_session_run(nullptr, &in, 1, &out, 1)).first == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(octet_status_code(nullptr) == OCTET_OK);
    CHECK(std::string(octet_status_message(nullptr)).empty());
  }

  TEST_CASE("memory limit: a run larger than the limit fails; runs that fit one at a time wait their turn") {
    octet_options* opt = nullptr;
    require_ok(octet_options_create(&opt));
    require_ok(octet_options_set_memory_limit(opt, 1024));
    octet_session* tiny = nullptr;
    require_ok(octet_session_create(kDemoModel.c_str(), opt, &tiny));
    FloatTensor in = read_pb(kSource + "/tests/data/demo/input_5.pb");
    FloatTensor want = read_pb(kSource + "/tests/data/demo/output_5.pb");
    octet_tensor x = input_tensor(in.data, in.shape);
    octet_tensor out{};
    auto [code, msg] = take(octet_session_run(tiny, &x, 1, &out, 1));
    CHECK(code == OCTET_ERROR_OUT_OF_MEMORY);
    CHECK(out.data == nullptr);
    const std::string key = "one run needs ";
    REQUIRE(msg.find(key) != std::string::npos);
    const size_t arena = std::stoull(msg.substr(msg.find(key) + key.size()));
    CHECK(msg.find("the session's memory limit is 1024") != std::string::npos);
    CHECK(arena > 1024);
    octet_session_destroy(tiny);

    // Exactly one arena's worth: four threads' runs go through one at a time, all correct.
    require_ok(octet_options_set_memory_limit(opt, arena));
    octet_session* one = nullptr;
    require_ok(octet_session_create(kDemoModel.c_str(), opt, &one));
    octet_options_destroy(opt);
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int r = 0; r < 10; ++r) {
          std::vector<float> y(10);
          octet_tensor o{OCTET_DTYPE_UNDEFINED, 0, {}, y.data(), 40};
          octet_status* st = octet_session_run(one, &x, 1, &o, 1);
          bool ok = !st;
          for (size_t k = 0; ok && k < 10; ++k) ok = std::fabs(y[k] - want.data[k]) <= 1e-4f * (1 + std::fabs(want.data[k]));
          octet_status_free(st);
          good += ok;
        }
      });
    for (auto& th : threads) th.join();
    CHECK(good == 40);
    octet_session_destroy(one);
  }

  TEST_CASE("ISA clamp per session: scalar kernels give ONNX Runtime's outputs too") {
    octet_options* opt = nullptr;
    require_ok(octet_options_create(&opt));
    require_ok(octet_options_set_max_isa(opt, "scalar"));
    require_ok(octet_options_set_threads(opt, 1));
    SessionFixture f(opt);
    octet_options_destroy(opt);
    FloatTensor in = read_pb(kSource + "/tests/data/demo/input_6.pb");
    FloatTensor want = read_pb(kSource + "/tests/data/demo/output_6.pb");
    octet_tensor x = input_tensor(in.data, in.shape);
    std::vector<float> y(10);
    octet_tensor o{OCTET_DTYPE_UNDEFINED, 0, {}, y.data(), 40};
    require_ok(octet_session_run(f.s, &x, 1, &o, 1));
    for (size_t k = 0; k < 10; ++k) CHECK(y[k] == doctest::Approx(want.data[k]).epsilon(1e-4));
  }

  TEST_CASE("C++ layer: RAII session, images into a batch, spans, exceptions with the C code") {
    octet::Session s = octet::Session::load(kDemoModel, {.threads = 2});
    CHECK(s.input(0).name == "input");
    CHECK(s.input(0).shape == std::vector<int64_t>{-1, 1, 28, 28});
    const std::vector<std::string> labels = s.labels();
    REQUIRE(labels.size() == 10);

    const std::vector<Sample> all = samples();
    const int64_t n = int64_t(all.size());
    s.set_input_shape(0, {n, 1, 28, 28});
    CHECK(s.output(0).shape == std::vector<int64_t>{n, 10});
    std::vector<float> batch(size_t(n) * 28 * 28);
    for (size_t i = 0; i < all.size(); ++i)
      s.load_image(all[i].path, std::span<float>(batch).subspan(i * 28 * 28, 28 * 28));
    std::vector<octet::Tensor> out = s.run({octet::TensorView(std::span<const float>(batch), {n, 1, 28, 28})});
    REQUIRE(out.size() == 1);
    CHECK(out[0].shape() == std::vector<int64_t>{n, 10});
    std::span<const float> scores = out[0].data<float>();
    for (size_t i = 0; i < all.size(); ++i) {
      CAPTURE(all[i].path);
      CHECK(file_label(labels[argmax(scores.data() + i * 10, 10)]) == all[i].label);
      // Each row as a batch of one, through an owned image tensor: the same scores within float rounding.
      octet::Tensor img = s.load_image(all[i].path);
      std::vector<float> row(10);
      std::vector<std::span<std::byte>> dst{std::as_writable_bytes(std::span<float>(row))};
      std::vector<octet::TensorView> inputs{img.view()};
      auto infos = s.run(inputs, dst);
      CHECK(infos[0].shape == std::vector<int64_t>{1, 10});
      for (size_t k = 0; k < 10; ++k) CHECK(row[k] == doctest::Approx(scores[i * 10 + k]).epsilon(1e-5));
    }
    CHECK_THROWS_AS(out[0].data<int64_t>(), octet::Error);

    try {
      octet::Session::load("/no/such/model.onnx");
      FAIL("expected octet::Error");
    } catch (const octet::Error& e) {
      CHECK(e.code() == OCTET_ERROR_BAD_INPUT);
      CHECK(std::string(e.what()).find("/no/such/model.onnx") != std::string::npos);
    }
    const std::string model = file_bytes(kDemoModel);
    octet::Session m = octet::Session::from_memory(std::as_bytes(std::span(model)));
    CHECK(m.output_count() == 1);
    CHECK_THROWS_AS(octet::Session::load(kDemoModel, {.max_isa = "mmx"}), octet::Error);
  }
}
