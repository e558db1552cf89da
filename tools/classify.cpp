#include "tools/classify.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

#include "graph/error.h"

namespace octet::tools {

namespace {

std::string meta(const Graph& g, const std::string& key) {
  auto it = g.metadata.find(key);
  return it == g.metadata.end() ? std::string() : it->second;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> r;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    r.push_back(line);
    start = end + 1;
  }
  return r;
}

}  // namespace

ImageInput image_input(const Session& s, bool free_size) {
  const Graph& g = s.model();
  if (s.num_inputs() != 1)
    throw Error(g.path + ": the model has " + std::to_string(s.num_inputs()) +
                " inputs; image classification feeds one NCHW image input");
  const Value& v = s.input(0);
  if (v.dtype != DType::f32)
    throw Error(g.path + ": input '" + v.name + "' is " + dtype_name(v.dtype) + ", expected float32 images");
  ImageInput in;
  in.name = v.name;
  Shape shape;
  auto given = s.options().shapes.find(v.name);
  const bool given_shape = given != s.options().shapes.end();
  if (given_shape) {
    shape = given->second;
    if (shape.size() != 4)
      throw Error(g.path + ": --shape " + v.name + "=" + shape_str(shape) + " is not NCHW (rank 4)");
    in.fixed_batch = shape[0];
  } else {
    if (!v.has_shape)
      throw Error(g.path + ": input '" + v.name + "' has no shape in the model; give --shape " + v.name +
                  "=1xCxHxW");
    if (v.dims.size() != 4)
      throw Error(g.path + ": input '" + v.name + "' has rank " + std::to_string(v.dims.size()) +
                  ", expected an NCHW image input (rank 4)");
    for (int i = 1; i < 4; ++i)
      if (!v.dims[i].known() && (i == 1 || !free_size))
        throw Error(g.path + ": input '" + v.name + "' dim " + std::to_string(i) + " ('" + v.dims[i].symbol +
                    "') is not fixed; give --shape " + v.name + "=1xCxHxW");
    // A symbolic H or W stays 0: the image's own size (decode_image's free size).
    auto dim = [&](int i) { return v.dims[i].known() ? v.dims[i].value : 0; };
    shape = {v.dims[0].known() ? v.dims[0].value : 1, dim(1), dim(2), dim(3)};
    in.fixed_batch = v.dims[0].known() ? v.dims[0].value : 0;
  }
  in.channels = int(shape[1]);
  in.height = int(shape[2]);
  in.width = int(shape[3]);
  if (in.channels != 1 && in.channels != 3)
    throw Error(g.path + ": input '" + v.name + "' has " + std::to_string(in.channels) +
                " channels; images give 1 (gray) or 3 (RGB)");
  const bool zero_ok = free_size && !given_shape;
  if (in.height < 0 || in.width < 0 || (!zero_ok && (in.height == 0 || in.width == 0)) || shape[0] < 0)
    throw Error(g.path + ": input '" + v.name + "' has shape " + shape_str(shape) + ", not an image size");
  return in;
}

ImageOptions image_options(const Args& a, const Graph& model) {
  ImageOptions o = image_options_from_metadata(model);  // the channel count is checked by check_image_options
  if (a.has("--resize")) {
    o.resize = a.get_int("--resize", 0);
    if (o.resize < 1) throw UsageError("--resize must be >= 1");
  }
  if (a.has(kNoCropFlag)) o.crop = false;
  if (a.has("--mean")) o.mean = parse_floats(a.get("--mean"));
  if (a.has("--std")) o.std = parse_floats(a.get("--std"));
  return o;
}

void check_image_options(const ImageOptions& o, const ImageInput& in, const Args& a, const Graph& model) {
  // Said once here, naming where the values came from, rather than by load_image for every image.
  for (auto [values, key] : {std::pair{&o.mean, "mean"}, std::pair{&o.std, "std"}}) {
    if (values->size() <= 1 || int(values->size()) == in.channels) continue;
    std::string from = a.has(std::string("--") + key) ? std::string("--") + key
                                                      : model.path + ": metadata_props 'octet." + key + "'";
    throw Error(from + " has " + std::to_string(values->size()) + " values, input '" + in.name + "' has " +
                std::to_string(in.channels) + " channels");
  }
}

std::vector<std::string> class_labels(const Args& a, const Graph& model) {
  if (a.has("--labels")) {
    std::string path = a.get("--labels");
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot open labels file: " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return split_lines(text);
  }
  return split_lines(meta(model, "labels"));
}

std::string label_name(const std::vector<std::string>& labels, int64_t i) {
  return i >= 0 && size_t(i) < labels.size() && !labels[size_t(i)].empty() ? labels[size_t(i)] : std::to_string(i);
}

Tensor load_batch(const std::vector<std::string>& paths, const ImageInput& in, const ImageOptions& opt,
                  int64_t batch, int threads) {
  return load_image_batch(paths, in.channels, in.height, in.width, opt, batch, threads);
}

std::vector<DecodedImage> decode_images(const std::vector<std::string>& paths, const ImageInput& in,
                                        const ImageOptions& opt, int threads) {
  std::vector<DecodedImage> r(paths.size());
  for_each_parallel(int64_t(paths.size()), threads, [&](int64_t i) {
    DecodedImage& d = r[size_t(i)];
    d.path = paths[size_t(i)];
    d.x = load_image(d.path, in.channels, in.height, in.width, opt, &d.frame);
  });
  return r;
}

std::vector<std::vector<float>> classify(Session& s, const Tensor& batch) {
  std::vector<Tensor> out = s.run({batch.view()});
  if (out.empty()) throw Error(s.model().path + ": the model has no output");
  const Tensor& o = out[0];
  const int64_t b = batch.shape()[0];
  if (o.dtype() != DType::f32)
    throw Error(s.model().path + ": output '" + s.output(0).name + "' is " + dtype_name(o.dtype()) +
                ", expected float32 scores");
  if (o.shape().empty() || o.shape()[0] != b || o.numel() == 0)
    throw Error(s.model().path + ": output '" + s.output(0).name + "' has shape " + shape_str(o.shape()) +
                ", expected [" + std::to_string(b) + ", classes]");
  const int64_t classes = o.numel() / b;
  std::vector<std::vector<float>> rows(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) rows[size_t(i)].assign(o.as<float>() + i * classes, o.as<float>() + (i + 1) * classes);
  return rows;
}

std::vector<float> to_probabilities(const std::vector<float>& row) {
  double sum = 0;
  bool nonneg = true;
  for (float v : row) {
    sum += v;
    nonneg = nonneg && v >= 0.0f;
  }
  if (nonneg && std::fabs(sum - 1.0) <= 1e-3) return row;
  float mx = row.empty() ? 0.0f : *std::max_element(row.begin(), row.end());
  std::vector<double> e(row.size());
  double z = 0;
  for (size_t i = 0; i < row.size(); ++i) z += e[i] = std::exp(double(row[i]) - double(mx));
  std::vector<float> p(row.size());
  for (size_t i = 0; i < row.size(); ++i) p[i] = float(e[i] / z);
  return p;
}

std::vector<int> top_k(const std::vector<float>& v, int k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::clamp(k, 0, int(v.size()));
  // NaN scores rank last so they never displace a real class.
  auto key = [&](int i) { return std::isnan(v[size_t(i)]) ? -INFINITY : v[size_t(i)]; };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    float ka = key(a), kb = key(b);
    return ka > kb || (ka == kb && a < b);
  });
  idx.resize(size_t(k));
  return idx;
}

}  // namespace octet::tools
