#include "quant/quantize.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "graph/error.h"
#include "graph/tensor_proto.h"
#include "quant/calibrator.h"

namespace octet::quant {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kBatch = 16;

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e;
}

// The first `rows` rows of a batch.
Tensor first_rows(const TensorView& t, int64_t rows) {
  Shape s = t.shape;
  s[0] = rows;
  Tensor r(t.dtype, s);
  std::memcpy(r.data(), t.data, r.bytes());
  return r;
}

// The image input's geometry: C, H, W and the fixed batch (0 when any batch goes), from the session's shape for
// the input, else the model's dims.
struct ImageGeometry {
  int channels = 0, height = 0, width = 0;
  int64_t fixed_batch = 0;
};

ImageGeometry image_geometry(const Graph& g, const SessionOptions& opt) {
  const Value& v = g.values[size_t(g.inputs[0])];
  if (v.dtype != DType::f32)
    throw Error(g.path + ": input '" + v.name + "' is " + dtype_name(v.dtype) + ", expected float32 images");
  Shape shape;
  auto given = opt.shapes.find(v.name);
  if (given != opt.shapes.end()) {
    shape = given->second;
  } else {
    if (!v.has_shape || v.dims.size() != 4)
      throw Error(g.path + ": input '" + v.name + "' is not an NCHW image input (rank 4); calibrate with tensors");
    for (size_t i = 0; i < 4; ++i) {
      if (i > 0 && !v.dims[i].known())
        throw Error(g.path + ": input '" + v.name + "' dim " + std::to_string(i) + " ('" + v.dims[i].symbol +
                    "') is not fixed; give the input's shape");
      shape.push_back(v.dims[i].known() ? v.dims[i].value : 0);
    }
  }
  if (shape.size() != 4)
    throw Error(g.path + ": input '" + v.name + "' shape " + shape_str(shape) + " is not NCHW (rank 4)");
  return ImageGeometry{int(shape[1]), int(shape[2]), int(shape[3]), shape[0]};
}

void check_channels(const std::vector<float>& list, const char* what, int channels, const std::string& model) {
  if (!list.empty() && list.size() != 1 && list.size() != size_t(channels))
    throw Error(model + ": image " + what + " has " + std::to_string(list.size()) + " values, expected 1 or " +
                std::to_string(channels) + " (one per channel)");
}

}  // namespace

std::vector<std::string> list_calibration_samples(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw Error(dir + ": calibration folder does not exist");
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": expected a folder of images or .pb tensors");
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string e = lower_ext(it->path());
    if (e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".pb") files.push_back(it->path().string());
  }
  if (ec) throw Error(dir + ": cannot list: " + ec.message());
  if (files.empty()) throw Error(dir + ": no calibration samples (.png, .jpg, .jpeg or .pb files)");
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> spread(const std::vector<std::string>& files, int64_t n) {
  if (n <= 0 || size_t(n) >= files.size()) return files;
  std::vector<std::string> r;
  for (int64_t i = 0; i < n; ++i) r.push_back(files[size_t(i * int64_t(files.size()) / n)]);
  return r;
}

Quantizer::Quantizer(const Graph& model, QuantizeOptions opt) : model_path_(model.path), opt_(std::move(opt)) {
  if (opt_.weight_bits != 7 && opt_.weight_bits != 8)
    throw Error(model.path + ": weight bits " + std::to_string(opt_.weight_bits) + ", expected 7 or 8");
  if (opt_.method == Method::percentile && !(opt_.percentile > 50 && opt_.percentile <= 100))
    throw Error(model.path + ": percentile " + std::to_string(opt_.percentile) + " is not in (50, 100]");
  std::vector<Shape> shapes;
  for (int v : model.inputs) {
    auto it = opt_.session.shapes.find(model.values[size_t(v)].name);
    shapes.push_back(it == opt_.session.shapes.end() ? Shape{} : it->second);
  }
  prepared_ = prepare_model(model, shapes);
  plan_ = plan_qdq(prepared_, opt_.exclude);
  tensors_ = plan_.calibrated(prepared_);
}

Quantizer::~Quantizer() = default;

Calibrator& Quantizer::calibrator() {
  if (!calibrator_) calibrator_ = std::make_unique<Calibrator>(prepared_, tensors_, opt_.session);
  return *calibrator_;
}

void Quantizer::feed(const TensorView& batch, int64_t total, const Progress& progress) {
  const Value& in = prepared_.values[size_t(prepared_.inputs[0])];
  if (batch.dtype != DType::f32 || batch.shape.empty())
    throw Error(model_path_ + ": calibration batch is " + std::string(dtype_name(batch.dtype)) + " " +
                shape_str(batch.shape) + ", expected a float32 batch for input '" + in.name + "'");
  if (opt_.samples > 0 && samples_ >= opt_.samples) return;
  const int64_t rows = batch.shape[0];
  if (opt_.samples > 0 && samples_ + rows > opt_.samples) {
    Tensor cut = first_rows(batch, opt_.samples - samples_);
    calibrator().add(cut.view());
  } else {
    calibrator().add(batch);
  }
  samples_ = calibrator().samples();
  if (progress) progress(samples_, std::max(total, samples_));
}

void Quantizer::add(const TensorView& batch) { feed(batch, 0, {}); }

void Quantizer::add_folder(const std::string& dir, const ImageOptions* preprocessing, const Progress& progress) {
  const std::vector<std::string> files = spread(list_calibration_samples(dir), opt_.samples);
  bool any_image = false;
  for (const std::string& f : files) any_image |= lower_ext(f) != ".pb";
  ImageGeometry geo;
  ImageOptions iopt;
  if (any_image) {
    geo = image_geometry(prepared_, opt_.session);
    iopt = preprocessing ? *preprocessing : image_options_from_metadata(prepared_, geo.channels);
    check_channels(iopt.mean, "mean", geo.channels, model_path_);
    check_channels(iopt.std, "std", geo.channels, model_path_);
  }
  const int64_t batch = geo.fixed_batch > 0 ? geo.fixed_batch : kBatch;
  const int64_t total = samples_ + (opt_.samples > 0 ? opt_.samples - samples_ : int64_t(files.size()));
  const int threads = opt_.session.threads > 0 ? opt_.session.threads : 2;
  std::vector<std::string> pending;
  auto flush_images = [&] {
    if (pending.empty()) return;
    const size_t real = pending.size();
    // A model with a fixed batch gets full batches: the last one repeats its final image rather than feeding
    // zero rows, which would add false zeros to every histogram.
    while (geo.fixed_batch > 0 && int64_t(pending.size()) < batch) pending.push_back(pending.back());
    Tensor t = load_image_batch(pending, geo.channels, geo.height, geo.width, iopt, int64_t(pending.size()), threads);
    if (geo.fixed_batch > 0 || t.shape()[0] == int64_t(real))
      feed(t.view(), total, progress);
    else
      feed(first_rows(t.view(), int64_t(real)).view(), total, progress);
    pending.clear();
  };
  for (const std::string& f : files) {
    if (opt_.samples > 0 && samples_ + int64_t(pending.size()) >= opt_.samples) break;
    if (lower_ext(f) != ".pb") {
      pending.push_back(f);
      if (int64_t(pending.size()) == batch) flush_images();
      continue;
    }
    flush_images();
    Tensor t = read_tensor_pb(f);
    if (t.dtype() != DType::f32 || t.shape().empty())
      throw Error(f + ": calibration tensor is " + std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) +
                  ", expected a float32 batch for input '" + prepared_.values[size_t(prepared_.inputs[0])].name + "'");
    feed(t.view(), total, progress);
  }
  flush_images();
}

std::string Quantizer::method_note() const {
  std::string method = method_name(opt_.method);
  if (opt_.method == Method::percentile) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %g", opt_.percentile);
    method += buf;
  }
  return "method " + method;
}

CalibTable Quantizer::table() const {
  if (!calibrator_ || samples_ == 0)
    throw Error(model_path_ + ": no calibration sample was added; give a folder or batches of the input");
  const std::map<std::string, Histogram>& hist = calibrator_->histograms();
  CalibTable t;
  t.header = {"method: " + method_note().substr(7), "samples: " + std::to_string(samples_), "model: " + model_path_};
  for (const std::string& name : tensors_) {
    const Range r = choose_range(hist.at(name), opt_.method, opt_.percentile);
    t.entries.push_back(TableEntry{name, r.lo, r.hi, u8_params(r)});
  }
  return t;
}

Graph Quantizer::apply(const CalibTable& table, const std::string& note, const std::string& table_name,
                       std::vector<std::string>* ignored) const {
  const std::set<std::string> wanted(tensors_.begin(), tensors_.end());
  std::map<std::string, QParams> params;
  for (const TableEntry& e : table.entries) {
    if (wanted.count(e.name))
      params[e.name] = e.params;
    else if (ignored)
      ignored->push_back(e.name);
  }
  for (const std::string& t : tensors_)
    if (!params.count(t))
      throw Error(table_name + ": no line for tensor '" + t + "', which " + model_path_ + " quantizes");
  const std::string full =
      opt_.weight_bits == 8 ? note : note + ", weights " + std::to_string(opt_.weight_bits) + " bits";
  return apply_qdq(prepared_, plan_, params, full, opt_.weight_bits);
}

}  // namespace octet::quant
