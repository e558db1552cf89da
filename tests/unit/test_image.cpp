// load_image against torchvision: references made by scripts/make_image_reference.py (PIL decode +
// Resize + CenterCrop + ToTensor + Normalize), listed in tests/data/image/cases.txt.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/image.h"
#include "graph/error.h"
#include "graph/tensor_proto.h"

namespace {

const std::string kDir = std::string(OCTET_SOURCE_DIR) + "/tests/data/image/";

struct Case {
  std::string name, image;
  int channels = 0, height = 0, width = 0, resize = 0, crop = 1, max_level_diff = 0;
  std::vector<float> mean, std;
};

std::vector<float> parse_list(const std::string& s) {
  std::vector<float> r;
  if (s == "-") return r;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) r.push_back(std::stof(item));
  return r;
}

std::vector<Case> read_cases() {
  std::ifstream f(kDir + "cases.txt");
  REQUIRE_MESSAGE(f, "missing " << kDir << "cases.txt (run scripts/make_image_reference.py)");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    Case c;
    std::string mean, sd;
    ss >> c.name >> c.image >> c.channels >> c.height >> c.width >> c.resize >> c.crop >> mean >> sd >>
        c.max_level_diff;
    REQUIRE_MESSAGE(!ss.fail(), "bad line in cases.txt: " << line);
    c.mean = parse_list(mean);
    c.std = parse_list(sd);
    cases.push_back(c);
  }
  return cases;
}

// Throws and returns the message, or "" when nothing was thrown.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const octet::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("image") {
  TEST_CASE("load_image matches torchvision's PIL pipeline") {
    std::vector<Case> cases = read_cases();
    REQUIRE(cases.size() >= 10);
    for (const Case& c : cases) {
      CAPTURE(c.name);
      octet::ImageOptions opt;
      opt.resize = c.resize;
      opt.crop = c.crop != 0;
      opt.mean = c.mean;
      opt.std = c.std;
      octet::Tensor got = octet::load_image(kDir + c.image, c.channels, c.height, c.width, opt);
      octet::Tensor want = octet::read_tensor_pb(kDir + c.name + ".pb");
      REQUIRE(got.dtype() == octet::DType::f32);
      REQUIRE(got.shape() == octet::Shape{1, c.channels, c.height, c.width});
      REQUIRE(want.shape() == got.shape());
      // Tolerance: max_level_diff 8-bit levels after normalisation, i.e. levels / 255 / std. For the cases
      // decoded from PNG this is 0: the resampler is Pillow's fixed-point one and the normalisation is done
      // in float32 in torch's order, so the tensors must be identical.
      float min_std = 1.0f;
      if (!c.std.empty()) min_std = *std::min_element(c.std.begin(), c.std.end());
      else if (c.channels == 3) min_std = 0.224f;
      double tol = c.max_level_diff / 255.0 / min_std + (c.max_level_diff ? 1e-6 : 0.0);
      const float* g = got.as<float>();
      const float* w = want.as<float>();
      double max_diff = 0, sum_diff = 0;
      for (int64_t i = 0; i < got.numel(); ++i) {
        double d = std::fabs(double(g[i]) - double(w[i]));
        max_diff = std::max(max_diff, d);
        sum_diff += d;
      }
      MESSAGE(c.name << ": max abs diff " << max_diff << " (tolerance " << tol << "), mean abs diff "
                     << sum_diff / double(got.numel()));
      CHECK(max_diff <= tol);
      if (c.max_level_diff > 0) CHECK(sum_diff / double(got.numel()) <= 1.0 / 255.0 / min_std);
    }
  }

  TEST_CASE("a missing file is an error naming it") {
    std::string msg = error_of([] { octet::load_image(kDir + "no_such_image.jpg", 3, 8, 8); });
    CHECK(msg.find("no_such_image.jpg") != std::string::npos);
    CHECK(msg.find("cannot open") != std::string::npos);
    msg = error_of([] { octet::load_image(kDir, 3, 8, 8); });
    CHECK(msg.find("is a directory") != std::string::npos);
  }

  TEST_CASE("a truncated JPEG is an error naming it") {
    std::string msg = error_of([] { octet::load_image(kDir + "truncated.jpg", 3, 8, 8); });
    CHECK(msg.find("truncated.jpg") != std::string::npos);
    CHECK(msg.find("corrupt") != std::string::npos);
  }

  TEST_CASE("a file that is not an image is an error naming it") {
    std::string msg = error_of([] { octet::load_image(kDir + "not_an_image.png", 3, 8, 8); });
    CHECK(msg.find("not_an_image.png") != std::string::npos);
    CHECK(msg.find("not a JPEG/PNG image") != std::string::npos);
    msg = error_of([] { octet::decode_image("", 0, "empty.png", 3, 8, 8); });
    CHECK(msg.find("empty.png: empty file") != std::string::npos);
    // A PNG signature followed by garbage: recognised as PNG, then rejected by the decoder.
    const unsigned char bad_png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R', 1, 2};
    msg = error_of([&] { octet::decode_image(bad_png, sizeof(bad_png), "bad.png", 3, 8, 8); });
    CHECK(msg.find("bad.png: ") == 0);
    CHECK(msg.find("corrupt") != std::string::npos);
    // A JPEG SOI marker and nothing else.
    const unsigned char bad_jpg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F'};
    msg = error_of([&] { octet::decode_image(bad_jpg, sizeof(bad_jpg), "bad.jpg", 3, 8, 8); });
    CHECK(msg.find("bad.jpg: ") == 0);
  }

  TEST_CASE("bad preprocessing options are errors") {
    std::string img = kDir + "gray28.png";
    CHECK(error_of([&] { octet::load_image(img, 2, 8, 8); }).find("2 channels") != std::string::npos);
    octet::ImageOptions opt;
    opt.mean = {0.1f, 0.2f};
    CHECK(error_of([&] { octet::load_image(img, 3, 8, 8, opt); }).find("mean has 2 values") != std::string::npos);
    opt.mean = {};
    opt.std = {0.0f};
    CHECK(error_of([&] { octet::load_image(img, 1, 8, 8, opt); }).find("std has a zero") != std::string::npos);
  }

  TEST_CASE("normalisation: one mean/std value applies to every channel") {
    // gray28.png to 3 channels without resize: every channel equals the gray level, (x/255 - 0.5) / 0.5.
    octet::ImageOptions opt;
    opt.resize = 28;
    opt.mean = {0.5f};
    opt.std = {0.5f};
    octet::Tensor t = octet::load_image(kDir + "gray28.png", 3, 28, 28, opt);
    const float* p = t.as<float>();
    for (int i = 0; i < 28 * 28; ++i) {
      CHECK(p[i] == p[i + 28 * 28]);
      CHECK(p[i] == p[i + 2 * 28 * 28]);
      CHECK(p[i] >= -1.0f);
      CHECK(p[i] <= 1.0f);
    }
  }

  // A size of 0 follows the image (models with a symbolic H/W); the results are compared with the fixed-size path
  // on the same geometry (a stretch without crop gives the same resize).
  TEST_CASE("free sizes: the image's own size, --resize of the shorter side, one side fixed") {
    const std::string img = kDir + "rgb_40x30.png";  // 40 wide, 30 high
    auto same = [](const octet::Tensor& a, const octet::Tensor& b) {
      return a.shape() == b.shape() && std::equal(a.as<float>(), a.as<float>() + a.numel(), b.as<float>());
    };
    octet::ImageOptions stretch;
    stretch.crop = false;
    octet::ImageFrame f;
    octet::Tensor own = octet::load_image(img, 3, 0, 0, {}, &f);
    CHECK(own.shape() == octet::Shape{1, 3, 30, 40});
    CHECK(same(own, octet::load_image(img, 3, 30, 40, stretch)));
    CHECK((f.original_w == 40 && f.original_h == 30 && f.resized_w == 40 && f.resized_h == 30));
    CHECK((f.left == 0 && f.top == 0 && f.width == 40 && f.height == 30));

    octet::ImageOptions r15;
    r15.resize = 15;  // shorter side 30 -> 15, longer int(15 * 40 / 30) = 20
    octet::Tensor small = octet::load_image(img, 3, 0, 0, r15, &f);
    CHECK(small.shape() == octet::Shape{1, 3, 15, 20});
    CHECK(same(small, octet::load_image(img, 3, 15, 20, stretch)));
    CHECK((f.resized_w == 20 && f.resized_h == 15 && f.width == 20 && f.height == 15));

    // One side fixed: the other keeps the aspect ratio, round(15 * 40 / 30) = 20 and round(10 * 30 / 40) = 8.
    CHECK(same(octet::load_image(img, 3, 15, 0), octet::load_image(img, 3, 15, 20, stretch)));
    CHECK(same(octet::load_image(img, 3, 0, 10), octet::load_image(img, 3, 8, 10, stretch)));
    CHECK(error_of([&] { octet::load_image(img, 3, -1, 8); }).find("bad target size") != std::string::npos);
  }

  TEST_CASE("the frame of a resize + centre crop") {
    // 8x8 input: shorter side to round(8 / 0.875) = 9, so 40x30 -> 12x9 (int(9 * 40 / 30)); the crop starts at
    // column round((12 - 8) / 2) = 2, row round((9 - 8) / 2) = round(0.5) = 0 (half to even).
    octet::ImageFrame f;
    octet::load_image(kDir + "rgb_40x30.png", 3, 8, 8, {}, &f);
    CHECK((f.resized_w == 12 && f.resized_h == 9 && f.left == 2 && f.top == 0 && f.width == 8 && f.height == 8));
    // Padding: a 30-row image resized to 9 rows under a 12-row window starts 1 row above it ((12 - 9) / 2 = 1).
    octet::ImageOptions o;
    o.resize = 9;
    octet::load_image(kDir + "rgb_40x30.png", 3, 12, 8, o, &f);
    CHECK((f.resized_h == 9 && f.top == -1 && f.left == 2));
  }
}
