#include "tools/infer_files.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "graph/error.h"

// PNG encoding from Debian's libstb-dev, compiled in here as engine/image.cpp compiles stb_image: static
// functions (no clash with another copy in the same program) and no stdio, so this file opens the output itself
// and its errors name the file.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace octet::tools {

std::array<uint8_t, 3> voc_colour(int c) {
  std::array<uint8_t, 3> rgb = {0, 0, 0};
  for (int k = 0; k < 8; ++k, c >>= 3)
    for (int ch = 0; ch < 3; ++ch) rgb[size_t(ch)] = uint8_t(rgb[size_t(ch)] | (((c >> ch) & 1) << (7 - k)));
  return rgb;
}

namespace {

// Nearest map index along one axis for each original pixel (the formula in mask_rgb's comment); -1: unseen.
std::vector<int> axis_lookup(int original, int resized, int offset, int window, int map) {
  std::vector<int> r(static_cast<size_t>(original));
  for (int x = 0; x < original; ++x) {
    const int64_t rx = (2 * int64_t(x) + 1) * resized / (2 * int64_t(original));
    const int64_t wx = rx - offset;
    r[size_t(x)] = wx < 0 || wx >= window ? -1 : int((2 * wx + 1) * map / (2 * int64_t(window)));
  }
  return r;
}

}  // namespace

std::vector<uint8_t> mask_rgb(const SegmentationMap& map, const ImageFrame& f) {
  const std::vector<int> xs = axis_lookup(f.original_w, f.resized_w, f.left, f.width, map.width);
  const std::vector<int> ys = axis_lookup(f.original_h, f.resized_h, f.top, f.height, map.height);
  std::vector<std::array<uint8_t, 3>> palette(size_t(map.classes));
  for (int c = 0; c < map.classes; ++c) palette[size_t(c)] = voc_colour(c);
  std::vector<uint8_t> rgb(size_t(f.original_w) * size_t(f.original_h) * 3);
  for (int y = 0; y < f.original_h; ++y) {
    uint8_t* row = rgb.data() + size_t(y) * size_t(f.original_w) * 3;
    for (int x = 0; x < f.original_w; ++x) {
      const bool seen = xs[size_t(x)] >= 0 && ys[size_t(y)] >= 0;
      const std::array<uint8_t, 3>& c =
          seen ? palette[size_t(map.label[size_t(ys[size_t(y)]) * size_t(map.width) + size_t(xs[size_t(x)])])]
               : kUnseenColour;
      std::memcpy(row + size_t(x) * 3, c.data(), 3);
    }
  }
  return rgb;
}

void write_png(const std::string& path, const std::vector<uint8_t>& rgb, int width, int height) {
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size_t(size));
  };
  if (!stbi_write_png_to_func(append, &png, width, height, 3, rgb.data(), width * 3))
    throw Error(path + ": cannot encode the " + std::to_string(width) + "x" + std::to_string(height) + " mask as PNG");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot write the mask PNG: " + std::strerror(errno));
  f.write(png.data(), std::streamsize(png.size()));
  f.close();
  if (!f) throw Error(path + ": cannot write the mask PNG: " + std::strerror(errno));
}

std::string image_stem(const std::string& image) { return std::filesystem::path(image).stem().string(); }

std::string with_image_stem(const std::string& path, const std::string& image) {
  std::filesystem::path p(path);
  const std::string ext = p.extension().string();
  p.replace_extension();
  return p.string() + "." + image_stem(image) + ext;
}

std::vector<std::string> output_file_names(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> r;
  std::set<std::string> used;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string s = names[i];
    for (char& c : s)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
    if (s.find_first_not_of('.') == std::string::npos) s = "output_" + std::to_string(i);
    while (!used.insert(s).second) s += "_" + std::to_string(i);
    r.push_back((std::filesystem::path(dir) / (s + ".pb")).string());
  }
  return r;
}

}  // namespace octet::tools
