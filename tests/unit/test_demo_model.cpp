// The demo model against ONNX Runtime: octet's outputs on the sample inputs match ORT's stored outputs
// (tests/data/demo, made by scripts/make_reference.sh) within 1e-4, on every ISA tier this CPU has, with and
// without the graph passes, at batch 1 and batch 4, and the image path gives the same tensor as the stored input.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/image.h"
#include "engine/session.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"

using namespace octet;

namespace {

const std::string kDir = std::string(OCTET_SOURCE_DIR) + "/tests/data/demo/";
const std::string kModel = std::string(OCTET_SOURCE_DIR) + "/models/fmnist_resnet.onnx";

struct Case {
  std::string input, output, image;
};

std::vector<Case> manifest() {
  std::ifstream f(kDir + "manifest.tsv");
  std::vector<Case> r;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    Case c;
    std::getline(s, c.input, '\t');
    std::getline(s, c.output, '\t');
    std::getline(s, c.image, '\t');
    if (c.input.find("batch") == std::string::npos) r.push_back(c);
  }
  return r;
}

// max |got - want| / (1 + |want|): absolute near 0, relative for large logits.
double max_err(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  double e = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.as<float>()[i], w = want.as<float>()[i];
    e = std::max(e, std::fabs(g - w) / (1.0 + std::fabs(w)));
  }
  return e;
}

}  // namespace

TEST_SUITE("demo_model") {
  TEST_CASE("octet matches ONNX Runtime on the sample inputs within 1e-4") {
    auto cases = manifest();
    REQUIRE(cases.size() >= 4);
    std::vector<kernels::Isa> tiers{kernels::Isa::scalar};
    if (kernels::max_isa() != kernels::Isa::scalar) tiers.push_back(kernels::max_isa());
    for (kernels::Isa isa : tiers)
      for (bool optimize : {false, true}) {
        SessionOptions opt;
        opt.max_isa = isa;
        opt.optimize = optimize;
        opt.threads = 1;
        Session s(load_onnx(kModel), opt);
        for (const Case& c : cases) {
          Tensor in = read_tensor_pb(kDir + c.input);
          Tensor want = read_tensor_pb(kDir + c.output);
          auto out = s.run({in.view()});
          INFO("tier ", kernels::isa_name(isa), " passes ", optimize, " case ", c.input);
          CHECK(max_err(out[0], want) < 1e-4);
        }
        Tensor in4 = read_tensor_pb(kDir + "input_batch4.pb");
        Tensor want4 = read_tensor_pb(kDir + "output_batch4.pb");
        CHECK(max_err(s.run({in4.view()})[0], want4) < 1e-4);
      }
  }

  TEST_CASE("the image path gives the stored input tensors") {
    for (const Case& c : manifest()) {
      if (c.image.find(',') != std::string::npos) continue;  // the batch-4 row
      Tensor want = read_tensor_pb(kDir + c.input);
      ImageOptions io;
      io.resize = 28;
      Tensor got = load_image(std::string(OCTET_SOURCE_DIR) + "/" + c.image, 1, 28, 28, io);
      REQUIRE(got.shape() == want.shape());
      double e = 0;
      for (int64_t i = 0; i < want.numel(); ++i) e = std::max(e, double(std::fabs(got.as<float>()[i] - want.as<float>()[i])));
      CHECK(e < 1e-6);
    }
  }
}
