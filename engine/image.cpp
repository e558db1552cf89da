// Image decode (stb_image) and preprocessing that reproduces torchvision's PIL pipeline:
//   Image.open(f).convert("RGB" | "L") -> Resize(s) -> CenterCrop(c) -> ToTensor -> Normalize(mean, std)
//
// The resize is written to give the same bytes as Pillow's 8-bit resampler (Resample.c), which torchvision
// calls for PIL images: a separable triangle (bilinear) filter whose support widens with the downscale factor
// (that is the antialiasing), fixed-point coefficients with 22 fractional bits, and a rounding to uint8
// between the horizontal and the vertical pass. With the same decoded pixels, octet's tensor is bit-identical
// to torchvision's (tests/unit/test_image.cpp checks this against references made by
// scripts/make_image_reference.py). JPEG decoding itself (stb vs libjpeg-turbo) may differ by a few levels.
#include "engine/image.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <exception>
#include <memory>
#include <thread>
#include <tuple>
#include <utility>

#include "graph/error.h"

// Only the two formats octet promises; everything else is "not a JPEG/PNG image". The functions are static
// so this copy cannot clash with another stb_image linked into the same program. No stdio: the file is read
// here so that errors name it.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 16)
#include <stb/stb_image.h>

namespace octet {
namespace {

// Largest decoded image accepted (pixels): bounds the memory a hostile file can make us allocate.
constexpr int64_t kMaxPixels = int64_t(1) << 28;

// An 8-bit image with `c` interleaved channels (1 = L, 3 = RGB), rows packed.
struct Image8 {
  int w = 0, h = 0, c = 0;
  std::vector<uint8_t> px;
  uint8_t* row(int y) { return px.data() + size_t(y) * w * c; }
  const uint8_t* row(int y) const { return px.data() + size_t(y) * w * c; }
};

// PIL's RGB -> L (Convert.c, L24): L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, i.e. ITU-R 601-2 luma
// 0.299 R + 0.587 G + 0.114 B in 16-bit fixed point, rounded half up.
inline uint8_t luma(const uint8_t* p) {
  return uint8_t((uint32_t(p[0]) * 19595 + uint32_t(p[1]) * 38470 + uint32_t(p[2]) * 7471 + 0x8000) >> 16);
}

// stb's native layout (1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA) -> 1 or 3 channels, as PIL's
// convert("L") / convert("RGB"): alpha is dropped (not composited), gray expands by copying.
Image8 to_channels(const uint8_t* src, int w, int h, int comp, int channels) {
  Image8 out{w, h, channels, std::vector<uint8_t>(size_t(w) * h * channels)};
  size_t n = size_t(w) * h;
  uint8_t* d = out.px.data();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = src + i * comp;
    if (channels == 1) {
      d[i] = comp >= 3 ? luma(p) : p[0];
    } else if (comp >= 3) {
      d[3 * i] = p[0], d[3 * i + 1] = p[1], d[3 * i + 2] = p[2];
    } else {
      d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = p[0];
    }
  }
  return out;
}

// ---- Pillow-compatible resampling ---------------------------------------------------------------------

// Fixed-point coefficients: 32 bits minus 8 for the pixel value minus 2 of headroom (a filter may overshoot).
constexpr int kPrecisionBits = 32 - 8 - 2;

// The taps of one output sample: input range [first, first + count) and weights in Q22.
struct Taps {
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // out_size x ksize, zero padded
  int ksize = 0;
};

// Triangle filter on [-1, 1]: PIL's "bilinear".
inline double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Coefficients for resampling `in_size` samples to `out_size` (Pillow's precompute_coeffs with box
// [0, in_size]). Output sample i is centred at input coordinate c = (i + 0.5) * scale, scale = in/out. When
// shrinking (scale > 1) the filter is stretched by `scale`: w(x) = tri((x + 0.5 - c) / scale) over the
// support c +- scale, so every input pixel contributes (area-like antialiasing); when enlarging the filter
// stays tri(x + 0.5 - c), i.e. plain linear interpolation between the two nearest centres. Weights are
// normalised to sum 1 and then rounded half away from zero to Q22.
Taps make_taps(int in_size, int out_size) {
  Taps t;
  double scale = double(float(in_size) - 0.0f) / out_size;  // Pillow computes (in1 - in0) in float
  double filterscale = std::max(scale, 1.0);
  double support = 1.0 * filterscale;
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(size_t(out_size) * t.ksize, 0);
  std::vector<double> k(t.ksize);
  for (int i = 0; i < out_size; ++i) {
    double center = (i + 0.5) * scale;
    double ss = 1.0 / filterscale;
    int lo = std::max(int(center - support + 0.5), 0);  // C truncation, as Pillow ("round the value")
    int hi = std::min(int(center + support + 0.5), in_size);
    int n = hi - lo;
    double sum = 0.0;
    for (int x = 0; x < n; ++x) {
      k[x] = triangle((x + lo - center + 0.5) * ss);
      sum += k[x];
    }
    for (int x = 0; x < n; ++x) {
      double w = sum != 0.0 ? k[x] / sum : k[x];
      double q = w * (1 << kPrecisionBits);
      t.weights[size_t(i) * t.ksize + x] = int32_t(w < 0 ? -0.5 + q : 0.5 + q);
    }
    t.first[i] = lo;
    t.count[i] = n;
  }
  return t;
}

// Q22 accumulator -> uint8: the accumulator starts at 0.5 in Q22, so the shift rounds half up; then clamp.
inline uint8_t clip8(int32_t acc) {
  int32_t v = acc >> kPrecisionBits;  // arithmetic shift: floor, also for negative sums
  return uint8_t(std::clamp(v, 0, 255));
}

// Horizontal pass over rows [y0, y0 + out.h) of `in`. C (channels) is a template argument so the tap loop
// keeps the channel sums in registers.
template <int C>
void resample_horizontal(const Image8& in, int y0, const Taps& t, Image8& out) {
  for (int y = 0; y < out.h; ++y) {
    const uint8_t* src = in.row(y0 + y);
    uint8_t* dst = out.row(y);
    for (int x = 0; x < out.w; ++x) {
      const int32_t* k = &t.weights[size_t(x) * t.ksize];
      const uint8_t* s = src + size_t(t.first[x]) * C;
      int32_t acc[C];
      for (int ch = 0; ch < C; ++ch) acc[ch] = 1 << (kPrecisionBits - 1);
      for (int j = 0; j < t.count[x]; ++j)
        for (int ch = 0; ch < C; ++ch) acc[ch] += int32_t(s[j * C + ch]) * k[j];
      for (int ch = 0; ch < C; ++ch) dst[x * C + ch] = clip8(acc[ch]);
    }
  }
}

// Vertical pass; taps' first rows are relative to `in`'s first row (`row_offset` subtracted). Whole rows are
// accumulated at once (row-major, vectorisable); the sums are the same as Pillow's, only the loop order differs.
void resample_vertical(const Image8& in, int row_offset, const Taps& t, Image8& out) {
  const size_t stride = size_t(in.w) * in.c;
  std::vector<int32_t> acc(stride);
  for (int y = 0; y < out.h; ++y) {
    const int32_t* k = &t.weights[size_t(y) * t.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int j = 0; j < t.count[y]; ++j) {
      const uint8_t* src = in.row(t.first[y] - row_offset + j);
      const int32_t kj = k[j];
      for (size_t i = 0; i < stride; ++i) acc[i] += int32_t(src[i]) * kj;
    }
    uint8_t* dst = out.row(y);
    for (size_t i = 0; i < stride; ++i) dst[i] = clip8(acc[i]);
  }
}

// PIL's Image.resize((w, h), BILINEAR): horizontal pass first (only over the rows the vertical pass reads),
// rounded to uint8, then the vertical pass. A pass whose size does not change is skipped, as in Pillow.
Image8 resize(const Image8& in, int w, int h) {
  if (w == in.w && h == in.h) return in;
  Taps tv = make_taps(in.h, h);
  const Image8* src = &in;
  Image8 tmp;
  int row_offset = 0;
  if (w != in.w) {
    int y_first = tv.first[0];
    int y_last = tv.first[h - 1] + tv.count[h - 1];
    Taps th = make_taps(in.w, w);
    tmp = Image8{w, y_last - y_first, in.c, std::vector<uint8_t>(size_t(w) * (y_last - y_first) * in.c)};
    if (in.c == 1) resample_horizontal<1>(in, y_first, th, tmp);
    else resample_horizontal<3>(in, y_first, th, tmp);
    src = &tmp;
    row_offset = y_first;
  }
  if (h == in.h) return tmp;
  Image8 out{w, h, in.c, std::vector<uint8_t>(size_t(w) * h * in.c)};
  resample_vertical(*src, row_offset, tv, out);
  return out;
}

// ---- torchvision's geometry ---------------------------------------------------------------------------

// Python's round(): half to even. (Crop offsets are k/2, so only .5 ties matter.)
int round_half_even(double v) { return int(std::nearbyint(v)); }  // default FE_TONEAREST is half-even

[[noreturn]] void fail(const std::string& name, const std::string& msg) { throw Error(name + ": " + msg); }

std::vector<float> channel_params(const std::vector<float>& given, int channels, float def1,
                                  const float* def3, const char* what, const std::string& name) {
  if (given.empty()) {
    if (channels == 3) return {def3[0], def3[1], def3[2]};
    return std::vector<float>(size_t(channels), def1);
  }
  if (given.size() == 1) return std::vector<float>(size_t(channels), given[0]);
  if (int(given.size()) != channels)
    fail(name, std::string(what) + " has " + std::to_string(given.size()) + " values, the model input has " +
                   std::to_string(channels) + " channels");
  return given;
}

}  // namespace

namespace {

// torchvision's Resize(int s): the shorter side becomes s and the longer int(s * longer / shorter) (truncated).
std::pair<int, int> resize_shorter_side(int w, int h, int s) {
  int shorter = std::min(w, h), longer = std::max(w, h);
  double scaled_d = double(int64_t(s) * longer) / shorter;
  int scaled = scaled_d < double(INT32_MAX) ? int(scaled_d) : INT32_MAX;
  return w <= h ? std::pair{s, scaled} : std::pair{scaled, s};
}

// The side that follows the image when the other is fixed: round(fixed * free_side / fixed_side), at least 1.
int keep_aspect(int fixed, int free_side, int fixed_side) {
  double v = std::round(double(fixed) * free_side / fixed_side);
  return v < 1 ? 1 : v < double(INT32_MAX) ? int(v) : INT32_MAX;
}

}  // namespace

Tensor decode_image(const void* data, size_t size, const std::string& name, int channels, int height, int width,
                    const ImageOptions& opt, ImageFrame* frame) {
  if (channels != 1 && channels != 3)
    fail(name, "the model input has " + std::to_string(channels) + " channels; images give 1 (gray) or 3 (RGB)");
  if (height < 0 || width < 0) fail(name, "bad target size " + std::to_string(height) + "x" + std::to_string(width));
  if (size == 0) fail(name, "empty file, not a JPEG/PNG image");
  if (size > size_t(INT32_MAX)) fail(name, "file too large");

  // Decode. stb keeps the failure reason in a thread-local (v2.27), so parallel decoders do not race on it.
  const auto* bytes = static_cast<const stbi_uc*>(data);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, int(size), &w, &h, &comp))
    fail(name, std::string("not a JPEG/PNG image or corrupt (stb: ") + stbi_failure_reason() + ")");
  if (int64_t(w) * h > kMaxPixels)
    fail(name, "image is " + std::to_string(w) + "x" + std::to_string(h) + ", larger than the " +
                   std::to_string(kMaxPixels) + " pixels accepted");
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(bytes, int(size), &w, &h, &comp, 0),
                                               stbi_image_free);
  if (!px) fail(name, std::string("not a JPEG/PNG image or corrupt (stb: ") + stbi_failure_reason() + ")");
  Image8 img = to_channels(px.get(), w, h, comp, channels);
  px.reset();

  // Resize: torchvision's Resize(int s) sets the shorter side to s before the crop; Resize((h, w)) without the
  // crop goes straight to the target size. A free target size (0) takes the resized image whole.
  int rw = width, rh = height;
  if (width == 0 && height == 0) {
    std::tie(rw, rh) = opt.resize > 0 ? resize_shorter_side(img.w, img.h, opt.resize) : std::pair{img.w, img.h};
  } else if (width == 0) {
    rw = keep_aspect(height, img.w, img.h);
  } else if (height == 0) {
    rh = keep_aspect(width, img.h, img.w);
  } else if (opt.crop) {
    int s = opt.resize > 0 ? opt.resize : int(std::lround(std::max(height, width) / 0.875));
    std::tie(rw, rh) = resize_shorter_side(img.w, img.h, s);
  }
  if (rw <= 0 || rh <= 0 || int64_t(rw) * rh > kMaxPixels)
    fail(name, "image is " + std::to_string(w) + "x" + std::to_string(h) + "; resizing it to " + std::to_string(rw) +
                   "x" + std::to_string(rh) + " is out of range");
  img = resize(img, rw, rh);
  if (width == 0) width = rw;
  if (height == 0) height = rh;

  // CenterCrop(height, width): pad with zeros (left/top get the smaller half) when the image is smaller,
  // then offsets round((size - crop) / 2) with Python's half-to-even rounding.
  int pad_left = 0, pad_top = 0, top = 0, left = 0;
  if (width > img.w || height > img.h) {
    pad_left = width > img.w ? (width - img.w) / 2 : 0;
    pad_top = height > img.h ? (height - img.h) / 2 : 0;
  }
  int padded_w = std::max(img.w, width), padded_h = std::max(img.h, height);
  top = round_half_even((padded_h - height) / 2.0);
  left = round_half_even((padded_w - width) / 2.0);
  if (frame) *frame = ImageFrame{w, h, rw, rh, left - pad_left, top - pad_top, width, height};

  // ToTensor + Normalize in float32 as torch does: (x / 255 - mean) / std.
  static constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
  static constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};
  std::vector<float> mean = channel_params(opt.mean, channels, 0.0f, kImageNetMean, "mean", name);
  std::vector<float> sd = channel_params(opt.std, channels, 1.0f, kImageNetStd, "std", name);
  for (float v : sd)
    if (v == 0.0f) fail(name, "std has a zero entry");
  // x / 255 takes 256 values: a table per channel holds the exact float32 results of the same operations.
  std::vector<float> table(size_t(channels) * 256);
  for (int ch = 0; ch < channels; ++ch)
    for (int v = 0; v < 256; ++v) table[size_t(ch) * 256 + v] = (float(v) / 255.0f - mean[ch]) / sd[ch];
  Tensor t(DType::f32, {1, channels, height, width});
  float* out = t.as<float>();
  for (int ch = 0; ch < channels; ++ch) {
    const float* lut = &table[size_t(ch) * 256];
    for (int y = 0; y < height; ++y) {
      int sy = y + top - pad_top;  // row in the unpadded image
      float* o = out + (size_t(ch) * height + y) * width;
      for (int x = 0; x < width; ++x) {
        int sx = x + left - pad_left;
        bool inside = sy >= 0 && sy < img.h && sx >= 0 && sx < img.w;
        o[x] = lut[inside ? img.row(sy)[size_t(sx) * channels + ch] : 0];
      }
    }
  }
  return t;
}

Tensor load_image(const std::string& path, int channels, int height, int width, const ImageOptions& opt,
                  ImageFrame* frame) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not an image file");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno));
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  f.seekg(0, std::ios::beg);
  if (size < 0) fail(path, "cannot read (not a regular file?)");
  std::vector<char> buf(static_cast<size_t>(size));
  if (!f.read(buf.data(), size)) fail(path, "read error");
  return decode_image(buf.data(), buf.size(), path, channels, height, width, opt, frame);
}

namespace {

std::string metadata_value(const Graph& g, const std::string& key) {
  auto it = g.metadata.find(key);
  return it == g.metadata.end() ? std::string() : it->second;
}

std::vector<float> metadata_floats(const Graph& g, const std::string& key) {
  const std::string text = metadata_value(g, key);
  std::vector<float> r;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const float v = std::strtof(item.c_str(), &stop);
    if (item.empty() || *stop)
      throw Error(g.path + ": metadata_props '" + key + "' = '" + text + "' is not a comma list of numbers");
    r.push_back(v);
    start = end + 1;
  }
  return r;
}

}  // namespace

ImageOptions image_options_from_metadata(const Graph& g, int channels) {
  ImageOptions o;
  if (std::string r = metadata_value(g, "octet.resize"); !r.empty()) {
    char* stop = nullptr;
    const long v = std::strtol(r.c_str(), &stop, 10);
    if (*stop || v < 1 || v > 1 << 16)
      throw Error(g.path + ": metadata_props 'octet.resize' = '" + r + "' is not a positive integer");
    o.resize = int(v);
  }
  if (std::string c = metadata_value(g, "octet.crop"); !c.empty()) {
    if (c != "0" && c != "1") throw Error(g.path + ": metadata_props 'octet.crop' = '" + c + "', expected 0 or 1");
    o.crop = c == "1";
  }
  if (!metadata_value(g, "octet.mean").empty()) o.mean = metadata_floats(g, "octet.mean");
  if (!metadata_value(g, "octet.std").empty()) o.std = metadata_floats(g, "octet.std");
  for (auto [values, key] : {std::pair{&o.mean, "octet.mean"}, std::pair{&o.std, "octet.std"}})
    if (channels > 0 && values->size() > 1 && int(values->size()) != channels)
      throw Error(g.path + ": metadata_props '" + key + "' has " + std::to_string(values->size()) +
                  " values, the image input has " + std::to_string(channels) + " channels");
  return o;
}

void for_each_parallel(int64_t n, int threads, const std::function<void(int64_t)>& fn) {
  // Workers take indices by an atomic counter; the first error (in index order) is rethrown so the message does
  // not depend on timing.
  std::atomic<int64_t> next{0};
  std::vector<std::exception_ptr> errors(static_cast<size_t>(std::max<int64_t>(n, 0)));
  auto work = [&] {
    for (int64_t i; (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
      }
    }
  };
  int workers = int(std::min<int64_t>(std::max(threads, 1), n));
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

Tensor load_image_batch(const std::vector<std::string>& paths, int channels, int height, int width,
                        const ImageOptions& opt, int64_t batch, int threads) {
  const int64_t n = int64_t(paths.size());
  batch = std::max(batch, n);
  Tensor t(DType::f32, {batch, channels, height, width});
  const size_t per_image = size_t(channels) * size_t(height) * size_t(width);
  for_each_parallel(n, threads, [&](int64_t i) {
    Tensor img = load_image(paths[size_t(i)], channels, height, width, opt);
    std::memcpy(t.as<float>() + size_t(i) * per_image, img.as<float>(), per_image * sizeof(float));
  });
  return t;
}

}  // namespace octet
