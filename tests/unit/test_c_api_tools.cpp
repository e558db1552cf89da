// The C API's tool functions, which the Python module is built on: symbolic dim names, the compiled graph's
// description (what `octet inspect` prints), the input observer, and the quantizer (what `octet quantize` runs).
// Public API only, as an embedding program sees it.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "embed_test_util.h"
#include "octet/octet.hpp"

using namespace embed_test;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE_MESSAGE(f, "cannot open " << p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::path(OCTET_BINARY_DIR) / "test_c_api_tools" / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

void record(void* user, size_t index, const void* data, size_t bytes) {
  auto* seen = static_cast<std::vector<std::pair<size_t, const void*>>*>(user);
  seen->push_back({index, data});
  CHECK(bytes == 28 * 28 * sizeof(float));
}

void count_progress(void* user, int64_t done, int64_t total) {
  auto* last = static_cast<std::pair<int64_t, int64_t>*>(user);
  CHECK(done > last->first);
  CHECK(total >= done);
  *last = {done, total};
}

}  // namespace

TEST_SUITE("c_api_tools") {
  TEST_CASE("dim names: the model's symbol for a symbolic dim, NULL for fixed dims and out of range") {
    octet::Session s = octet::Session::load(kDemoModel);
    CHECK(std::string(octet_session_input_dim_name(s.get(), 0, 0)) == "N");
    CHECK(std::string(octet_session_output_dim_name(s.get(), 0, 0)) == "N");
    CHECK(octet_session_input_dim_name(s.get(), 0, 1) == nullptr);
    CHECK(octet_session_input_dim_name(s.get(), 0, 4) == nullptr);
    CHECK(octet_session_input_dim_name(s.get(), 1, 0) == nullptr);
    CHECK(octet_session_output_dim_name(nullptr, 0, 0) == nullptr);
  }

  TEST_CASE("describe: the compiled graph per node, for the set input shape") {
    octet::Session s = octet::Session::load(kDemoModel, {.threads = 1});
    const std::vector<octet::NodeInfo> nodes = s.describe();
    REQUIRE(nodes.size() > 5);
    size_t convs = 0;
    for (const octet::NodeInfo& n : nodes) {
      CHECK(!n.name.empty());
      CHECK(!n.kernel.empty());
      convs += n.op == "Conv";
    }
    CHECK(convs >= 6);
    CHECK(nodes.front().inputs.rfind("1x1x28x28", 0) == 0);  // symbolic batch: 1
    s.set_input_shape(0, {4, 1, 28, 28});
    CHECK(s.describe().front().inputs.rfind("4x1x28x28", 0) == 0);
    octet_node_info* raw = nullptr;
    size_t n = 0;
    CHECK(take(octet_session_describe(s.get(), nullptr, &n)).first == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(take(octet_session_describe(nullptr, &raw, &n)).first == OCTET_ERROR_INVALID_ARGUMENT);
  }

  TEST_CASE("input observer: each run reports the caller's input address, no copy") {
    std::vector<std::pair<size_t, const void*>> seen;
    octet::Session s =
        octet::Session::load(kDemoModel, {.threads = 1, .input_observer = record, .input_observer_user = &seen});
    const FloatTensor x = read_pb(kSource + "/tests/data/demo/input_0.pb");
    const octet::TensorView v(std::span<const float>(x.data), x.shape);
    s.run({v});
    s.run({v});
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == std::pair<size_t, const void*>{0, x.data.data()});
    CHECK(seen[1] == seen[0]);
  }

  TEST_CASE("quantizer: a folder and the same images as a batch give one table; the table reproduces the model") {
    const auto d = temp_dir("quantizer");
    const std::string images = kSource + "/models/images";
    octet::Quantizer folder(kDemoModel, {.threads = 2});
    std::pair<int64_t, int64_t> last{0, 0};
    folder.add_folder(images, count_progress, &last);
    CHECK(last == std::pair<int64_t, int64_t>{8, 8});
    CHECK(folder.samples() == 8);
    folder.save((d / "folder.onnx").string(), (d / "folder.txt").string());

    // The same 8 images, decoded by the image helper in path order, as one batch.
    octet::Session s = octet::Session::load(kDemoModel);
    std::vector<std::string> paths;
    for (const auto& e : std::filesystem::directory_iterator(images)) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    std::vector<float> batch(paths.size() * 28 * 28);
    for (size_t i = 0; i < paths.size(); ++i)
      s.load_image(paths[i], std::span<float>(batch.data() + i * 28 * 28, 28 * 28));
    octet::Quantizer tensors(kDemoModel, {.threads = 2});
    tensors.add(octet::TensorView(std::span<const float>(batch), {int64_t(paths.size()), 1, 28, 28}));
    tensors.save((d / "batch.onnx").string(), (d / "batch.txt").string());
    CHECK(slurp(d / "batch.txt") == slurp(d / "folder.txt"));
    CHECK(slurp(d / "batch.onnx") == slurp(d / "folder.onnx"));

    // Applying the written table gives the model the calibration wrote (apart from the note naming the table).
    tensors.save_from_table((d / "folder.txt").string(), (d / "from_table.onnx").string());
    octet::Session a = octet::Session::load((d / "folder.onnx").string());
    octet::Session b = octet::Session::load((d / "from_table.onnx").string());
    const FloatTensor x = read_pb(kSource + "/tests/data/demo/input_1.pb");
    const octet::TensorView v(std::span<const float>(x.data), x.shape);
    const auto ya = a.run({v}), yb = b.run({v});
    CHECK(std::ranges::equal(ya[0].data<float>(), yb[0].data<float>()));
  }

  TEST_CASE("quantizer errors: codes and messages") {
    const auto d = temp_dir("errors");
    octet_quantizer* q = nullptr;
    octet_quantize_options o{};
    o.method = "median";
    auto [code, msg] = take(octet_quantizer_create(kDemoModel.c_str(), &o, &q));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("median") != std::string::npos);
    CHECK(q == nullptr);
    o = {};
    o.weight_bits = 4;
    CHECK(take(octet_quantizer_create(kDemoModel.c_str(), &o, &q)).first == OCTET_ERROR_INVALID_ARGUMENT);
    o = {};
    o.percentile = 99.0;  // with the default method
    CHECK(take(octet_quantizer_create(kDemoModel.c_str(), &o, &q)).first == OCTET_ERROR_INVALID_ARGUMENT);
    const char* nope[] = {"nope"};
    o = {};
    o.exclude = nope;
    o.num_exclude = 1;
    std::tie(code, msg) = take(octet_quantizer_create(kDemoModel.c_str(), &o, &q));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("nope") != std::string::npos);

    require_ok(octet_quantizer_create(kDemoModel.c_str(), nullptr, &q));
    std::tie(code, msg) = take(octet_quantizer_save(q, (d / "q.onnx").string().c_str(), nullptr));
    CHECK(code == OCTET_ERROR_INVALID_ARGUMENT);
    CHECK(msg.find("no calibration sample") != std::string::npos);
    std::vector<float> wrong(3 * 28 * 28);
    octet_tensor t{};
    t.dtype = OCTET_DTYPE_FLOAT32;
    t.rank = 4;
    const int64_t shape[] = {1, 3, 28, 28};
    std::copy(shape, shape + 4, t.shape);
    t.data = wrong.data();
    t.bytes = wrong.size() * sizeof(float);
    CHECK(take(octet_quantizer_add(q, &t)).first == OCTET_ERROR_BAD_INPUT);
    std::tie(code, msg) = take(octet_quantizer_add_folder(q, (d / "missing").string().c_str(), nullptr, nullptr));
    CHECK(code == OCTET_ERROR_BAD_INPUT);
    CHECK(msg.find("does not exist") != std::string::npos);
    CHECK(octet_quantizer_samples(q) == 0);
    octet_quantizer_destroy(q);
    CHECK(take(octet_quantizer_add(nullptr, &t)).first == OCTET_ERROR_INVALID_ARGUMENT);
  }
}
