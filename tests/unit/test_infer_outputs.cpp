// `octet infer`'s reading of outputs (tools/infer_outputs.h) and its files (tools/infer_files.h): kinds, slices of
// a batch, argmax maps, class shares, statistics, the VOC palette, mask geometry and file names.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/error.h"
#include "tools/infer_files.h"
#include "tools/infer_outputs.h"

namespace {

using octet::DType;
using octet::Shape;
using octet::Tensor;
using namespace octet::tools;

Tensor f32(Shape s, std::vector<float> v = {}) {
  Tensor t(DType::f32, s);
  if (!v.empty()) {
    REQUIRE(int64_t(v.size()) == t.numel());
    std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  }
  return t;
}

std::vector<Tensor> one(Tensor t) {
  std::vector<Tensor> r;
  r.push_back(std::move(t));
  return r;
}

}  // namespace

TEST_SUITE("infer_outputs") {
  TEST_CASE("output kinds") {
    CHECK(output_kind(one(f32({1, 10})), 1) == OutputKind::classes);
    CHECK(output_kind(one(f32({4, 10, 1, 1})), 4) == OutputKind::classes);
    CHECK(output_kind(one(f32({1, 21, 8, 6})), 1) == OutputKind::segmentation);
    CHECK(output_kind(one(f32({2, 2, 2, 2})), 2) == OutputKind::segmentation);
    // One class (a probability map), a 1-pixel-wide map, a batch mismatch, rank 3, int64, two outputs: tensors.
    CHECK(output_kind(one(f32({1, 1, 8, 8})), 1) == OutputKind::tensors);
    CHECK(output_kind(one(f32({1, 4, 8, 1})), 1) == OutputKind::tensors);
    CHECK(output_kind(one(f32({3, 10})), 1) == OutputKind::tensors);
    CHECK(output_kind(one(f32({1, 26, 37})), 1) == OutputKind::tensors);
    CHECK(output_kind(one(Tensor(DType::i64, {1, 10})), 1) == OutputKind::tensors);
    std::vector<Tensor> two = one(f32({1, 10}));
    two.push_back(f32({1, 4}));
    CHECK(output_kind(two, 1) == OutputKind::tensors);
    CHECK(std::string(kind_name(OutputKind::segmentation)) == "segmentation");
  }

  TEST_CASE("image_slice takes row i of every output") {
    std::vector<Tensor> outs = one(f32({3, 2}, {0, 1, 10, 11, 20, 21}));
    outs.push_back(Tensor(DType::i64, {3, 1, 2}));
    for (int64_t i = 0; i < 6; ++i) outs[1].as<int64_t>()[i] = 100 + i;
    std::vector<Tensor> s = image_slice(outs, {"a", "b"}, 3, 1, "m.onnx");
    REQUIRE(s.size() == 2);
    CHECK(s[0].shape() == Shape{1, 2});
    CHECK((s[0].as<float>()[0] == 10 && s[0].as<float>()[1] == 11));
    CHECK(s[1].shape() == Shape{1, 1, 2});
    CHECK((s[1].as<int64_t>()[0] == 102 && s[1].as<int64_t>()[1] == 103));
    // Batch 1: the outputs whole, whatever their first dim.
    CHECK(image_slice(one(f32({5, 2})), {"a"}, 1, 0, "m.onnx")[0].shape() == Shape{5, 2});
    // A first dim that is not the batch cannot be split by image.
    std::string msg;
    try {
      image_slice(one(f32({7, 6})), {"boxes"}, 2, 0, "m.onnx");
    } catch (const octet::Error& e) {
      msg = e.what();
    }
    CHECK(msg.find("m.onnx: output 'boxes' has shape 7x6, whose first dim is not the batch of 2") == 0);
  }

  TEST_CASE("argmax map: ties go to the lower class, NaN never wins") {
    // 3 classes over a 1x4 map. Pixel 0: class 2 wins; pixel 1: classes 0 and 1 tie -> 0; pixel 2: class 1 is
    // NaN, class 2 wins over class 0; pixel 3: all NaN -> 0.
    const float nan = NAN;
    Tensor s = f32({1, 3, 1, 4}, {0, 5, 1, nan,    //
                                  1, 5, nan, nan,  //
                                  2, 4, 2, nan});
    SegmentationMap m = argmax_map(s);
    CHECK((m.classes == 3 && m.height == 1 && m.width == 4));
    CHECK(m.label == std::vector<int32_t>{2, 0, 2, 0});
    std::vector<ClassShare> sh = class_shares(m);
    REQUIRE(sh.size() == 2);  // class 1 is absent
    CHECK((sh[0].index == 0 && sh[0].pixels == 2 && sh[0].share == 0.5));
    CHECK((sh[1].index == 2 && sh[1].pixels == 2 && sh[1].share == 0.5));  // a tie in pixels: lower index first
  }

  TEST_CASE("class shares are sorted by pixels") {
    SegmentationMap m{4, 2, 3, {3, 3, 3, 1, 1, 0}};
    std::vector<ClassShare> sh = class_shares(m);
    REQUIRE(sh.size() == 3);
    CHECK((sh[0].index == 3 && sh[0].pixels == 3 && sh[1].index == 1 && sh[2].index == 0));
    CHECK(sh[0].share == doctest::Approx(0.5));
    CHECK(sh[2].share == doctest::Approx(1.0 / 6));
  }

  TEST_CASE("tensor statistics") {
    // 1, 2, 3, 4, 10: mean 4, population variance (9 + 4 + 1 + 0 + 36) / 5 = 10.
    TensorStats st = tensor_stats(f32({1, 5}, {1, 2, 10, 3, 4}));
    CHECK(st.numeric);
    CHECK((st.min == 1 && st.max == 10 && st.mean == 4 && st.count == 5 && st.nan == 0));
    CHECK(st.std == doctest::Approx(std::sqrt(10.0)));
    CHECK(st.argmax == 2);
    CHECK(st.argmax_at == Shape{0, 2});
    // Coordinates, last dim fastest; the first of equal maxima; NaNs are counted and left out.
    Tensor t = f32({2, 3, 2}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 7, NAN, 7});
    st = tensor_stats(t);
    CHECK((st.argmax == 9 && st.argmax_at == Shape{1, 1, 1} && st.nan == 1 && st.count == 11));
    // Integer outputs; a large tensor has no argmax.
    Tensor ints(DType::i64, {kArgmaxMaxElements + 1});
    for (int64_t i = 0; i < ints.numel(); ++i) ints.as<int64_t>()[i] = i % 3 - 1;
    st = tensor_stats(ints);
    CHECK((st.numeric && st.min == -1 && st.max == 1 && st.argmax == -1));
    CHECK_FALSE(tensor_stats(Tensor(DType::f16, {4})).numeric);
  }

  TEST_CASE("the PASCAL VOC palette") {
    // The devkit's colours for background, aeroplane, bicycle, bird, boat, ..., person (15), tvmonitor (20).
    CHECK(voc_colour(0) == std::array<uint8_t, 3>{0, 0, 0});
    CHECK(voc_colour(1) == std::array<uint8_t, 3>{128, 0, 0});
    CHECK(voc_colour(2) == std::array<uint8_t, 3>{0, 128, 0});
    CHECK(voc_colour(3) == std::array<uint8_t, 3>{128, 128, 0});
    CHECK(voc_colour(4) == std::array<uint8_t, 3>{0, 0, 128});
    CHECK(voc_colour(8) == std::array<uint8_t, 3>{64, 0, 0});
    CHECK(voc_colour(15) == std::array<uint8_t, 3>{192, 128, 128});
    CHECK(voc_colour(20) == std::array<uint8_t, 3>{0, 64, 128});
    CHECK(voc_colour(255) == std::array<uint8_t, 3>{224, 224, 192});  // the devkit's "void" label
  }

  TEST_CASE("mask geometry: nearest neighbour through resize and crop") {
    // A 2x2 map seen through a 4x4 window of an 8x4 resized image (left 2), from a 16x8 original: columns x of the
    // original land at resized floor((2x + 1) * 8 / 32), unseen outside [2, 6); map column floor((2wx + 1) / 4).
    SegmentationMap m{3, 2, 2, {1, 2, 0, 1}};
    octet::ImageFrame f{16, 8, 8, 4, 2, 0, 4, 4};
    std::vector<uint8_t> rgb = mask_rgb(m, f);
    REQUIRE(rgb.size() == 16 * 8 * 3);
    auto at = [&](int x, int y) {
      const uint8_t* p = &rgb[(size_t(y) * 16 + size_t(x)) * 3];
      return std::array<uint8_t, 3>{p[0], p[1], p[2]};
    };
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 16; ++x) {
        const int rx = (2 * x + 1) * 8 / 32, wx = rx - 2;
        const int ry = (2 * y + 1) * 4 / 16;
        std::array<uint8_t, 3> want = kUnseenColour;
        if (wx >= 0 && wx < 4)
          want = voc_colour(m.label[size_t((2 * ry + 1) * 2 / 8) * 2 + size_t((2 * wx + 1) * 2 / 8)]);
        CHECK_MESSAGE(at(x, y) == want, "pixel " << x << "," << y);
      }
    // Spot checks: x = 4 -> rx 2 -> window 0 -> map column 0; x = 3 -> rx 1 -> unseen; x = 12 -> rx 6 -> unseen.
    CHECK(at(4, 0) == voc_colour(1));
    CHECK(at(11, 0) == voc_colour(2));
    CHECK(at(11, 7) == voc_colour(1));
    CHECK(at(3, 0) == kUnseenColour);
    CHECK(at(12, 0) == kUnseenColour);
  }

  TEST_CASE("file names") {
    CHECK(with_image_stem("out/mask.png", "photos/cat.jpg") == "out/mask.cat.png");
    CHECK(with_image_stem("mask", "a/b/street.view.png") == "mask.street.view");
    CHECK(with_image_stem("d/logits.pb", "x.png") == "d/logits.x.pb");
    std::vector<std::string> n = output_file_names("d", {"feat/pooled", "a:b", "a/b", "", "..", "ok-1.x"});
    CHECK(n == std::vector<std::string>{"d/feat_pooled.pb", "d/a_b.pb", "d/a_b_2.pb", "d/output_3.pb", "d/output_4.pb",
                                        "d/ok-1.x.pb"});
  }

  TEST_CASE("write_png: an unwritable path is an error naming it") {
    std::string msg;
    try {
      write_png("/nonexistent-dir/m.png", std::vector<uint8_t>(12, 0), 2, 2);
    } catch (const octet::Error& e) {
      msg = e.what();
    }
    CHECK(msg.find("/nonexistent-dir/m.png: cannot write the mask PNG") == 0);
  }
}
