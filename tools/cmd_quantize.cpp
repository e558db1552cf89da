// octet quantize MODEL --calib DIR -o OUT.onnx: post-training static quantization to a standard QDQ model.
// Thin: lists and decodes the calibration samples, shows progress, and calls quant/ for the rest.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"
#include "quant/calib_table.h"
#include "quant/calibrator.h"
#include "quant/qdq.h"
#include "tools/classify.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

namespace fs = std::filesystem;
using namespace octet::quant;

namespace {

// The method with the best top-1 on the demo model (docs/quantization.md has the table).
constexpr Method kDefaultMethod = Method::mse;
constexpr double kDefaultPercentile = 99.99;
constexpr int kBatch = 16;

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e;
}

// Every image and .pb file under `dir` (recursively), sorted by path so runs are reproducible.
std::vector<std::string> list_samples(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw Error(dir + ": calibration folder does not exist");
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": --calib expects a folder of images or .pb tensors");
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

// N files spread evenly over the sorted list (file floor(i * F / N)): a folder with one subfolder per class
// gives every class its share, not the first classes only.
std::vector<std::string> spread(const std::vector<std::string>& files, int64_t n) {
  if (n <= 0 || size_t(n) >= files.size()) return files;
  std::vector<std::string> r;
  for (int64_t i = 0; i < n; ++i) r.push_back(files[size_t(i * int64_t(files.size()) / n)]);
  return r;
}

void progress(int64_t done, int64_t total) {
  const int width = 30;
  const int fill = total > 0 ? int(std::min<int64_t>(width, done * width / total)) : width;
  std::fprintf(stderr, "\rcalibrating [%s%s] %lld/%lld samples", std::string(size_t(fill), '#').c_str(),
               std::string(size_t(width - fill), '.').c_str(), static_cast<long long>(done),
               static_cast<long long>(total));
  std::fflush(stderr);
}

// The first `rows` rows of a batch tensor.
Tensor first_rows(const Tensor& t, int64_t rows) {
  Shape s = t.shape();
  s[0] = rows;
  Tensor r(t.dtype(), s);
  std::memcpy(r.data(), t.data(), r.bytes());
  return r;
}

struct Options {
  Method method = kDefaultMethod;
  double percentile = kDefaultPercentile;
  int64_t samples = 0;
  int weight_bits = 8;
  std::set<std::string> exclude;
};

Options parse_options(const Args& a) {
  Options o;
  if (a.has("--method")) {
    try {
      o.method = parse_method(a.get("--method"));
    } catch (const Error& e) {
      throw UsageError(std::string("--method: ") + e.what());
    }
  }
  if (a.has("--percentile")) {
    if (o.method != Method::percentile) throw UsageError("--percentile applies to --method percentile only");
    o.percentile = a.get_double("--percentile", kDefaultPercentile);
    if (!(o.percentile > 50 && o.percentile <= 100)) throw UsageError("--percentile must be in (50, 100]");
  }
  if (a.has("--samples")) {
    o.samples = a.get_int("--samples", 0);
    if (o.samples < 1) throw UsageError("--samples must be >= 1");
  }
  if (a.has("--weight-bits")) {
    o.weight_bits = int(a.get_int("--weight-bits", 8));
    if (o.weight_bits != 7 && o.weight_bits != 8) throw UsageError("--weight-bits must be 7 or 8");
  }
  for (const std::string& list : a.all("--exclude")) {
    std::stringstream ss(list);
    for (std::string name; std::getline(ss, name, ',');)
      if (!name.empty()) o.exclude.insert(name);
  }
  return o;
}

// Runs the samples through the calibrator; returns one histogram per tensor.
struct Calibration {
  std::map<std::string, Histogram> hist;
  int64_t samples = 0;
};

Calibration calibrate(const Args& a, const Graph& model, const Graph& prepared, const std::vector<std::string>& tensors,
                      const Options& o) {
  const std::vector<std::string> files = spread(list_samples(a.get("--calib")), o.samples);
  const SessionOptions sopt = session_options(a);
  Calibrator cal(prepared, tensors, sopt);

  // Images are preprocessed exactly as `infer` does (same flags and model metadata).
  bool any_image = false;
  for (const std::string& f : files) any_image |= lower_ext(f) != ".pb";
  ImageInput in;
  ImageOptions iopt;
  if (any_image) {
    Session s(model, sopt);
    in = image_input(s);
    iopt = image_options(a, model);
    check_image_options(iopt, in, a, model);
  }
  const int64_t batch = in.fixed_batch > 0 ? in.fixed_batch : kBatch;
  const int64_t total = o.samples > 0 ? o.samples : int64_t(files.size());  // a .pb batch may add more
  const int threads = sopt.threads > 0 ? sopt.threads : 2;
  const bool tty = isatty(2);
  auto feed = [&](const Tensor& t) {
    cal.add(t.view());
    if (tty) progress(cal.samples(), std::max(total, cal.samples()));
  };
  std::vector<std::string> pending;
  auto flush_images = [&] {
    if (pending.empty()) return;
    const size_t real = pending.size();
    // A model with a fixed batch gets full batches: the last one repeats its final image rather than feeding
    // zero rows, which would add false zeros to every histogram.
    while (in.fixed_batch > 0 && int64_t(pending.size()) < batch) pending.push_back(pending.back());
    Tensor t = load_batch(pending, in, iopt, int64_t(pending.size()), threads);
    if (in.fixed_batch > 0 || t.shape()[0] == int64_t(real)) feed(t);
    else feed(first_rows(t, int64_t(real)));
    pending.clear();
  };
  for (const std::string& f : files) {
    if (o.samples > 0 && cal.samples() + int64_t(pending.size()) >= o.samples) break;
    if (lower_ext(f) != ".pb") {
      pending.push_back(f);
      if (int64_t(pending.size()) == batch) flush_images();
      continue;
    }
    flush_images();
    Tensor t = read_tensor_pb(f);
    if (t.dtype() != DType::f32 || t.shape().empty())
      throw Error(f + ": calibration tensor is " + std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) +
                  ", expected a float32 batch for input '" + prepared.values[prepared.inputs[0]].name + "'");
    if (o.samples > 0 && cal.samples() + t.shape()[0] > o.samples) t = first_rows(t, o.samples - cal.samples());
    feed(t);
  }
  flush_images();
  if (tty) std::fputc('\n', stderr);
  else std::fprintf(stderr, "calibrated on %lld samples\n", static_cast<long long>(cal.samples()));
  return Calibration{cal.histograms(), cal.samples()};
}

}  // namespace

int cmd_quantize(int argc, char** argv) {
  std::set<std::string> with_value = {"-o", "--calib", "--method", "--percentile", "--exclude",
                                      "--table", "--from-table", "--samples", "--weight-bits"};
  with_value.insert(kSessionFlags.begin(), kSessionFlags.end());
  with_value.insert(kImageFlags.begin(), kImageFlags.end());
  Args a(argc, argv, with_value, {kNoCropFlag});
  if (a.positional().size() != 1) throw UsageError("quantize needs exactly one MODEL");
  if (!a.has("-o")) throw UsageError("quantize needs -o OUT.onnx");
  if (a.has("--calib") == a.has("--from-table"))
    throw UsageError("quantize needs either --calib DIR (calibrate) or --from-table FILE (apply a table)");
  const Options o = parse_options(a);
  if (a.has("--from-table") && (a.has("--method") || a.has("--samples") || a.has("--percentile")))
    throw UsageError("--method, --percentile and --samples apply to --calib, not to --from-table");

  const std::string path = a.positional()[0];
  const Graph model = load_onnx(path);
  std::vector<Shape> shapes;
  const SessionOptions sopt = session_options(a);
  for (int v : model.inputs) {
    auto it = sopt.shapes.find(model.values[v].name);
    shapes.push_back(it == sopt.shapes.end() ? Shape{} : it->second);
  }
  const Graph prepared = prepare_model(model, shapes);
  const QdqPlan plan = plan_qdq(prepared, o.exclude);
  const std::vector<std::string> tensors = plan.calibrated(prepared);

  CalibTable table;
  std::map<std::string, QParams> params;
  std::string note;
  if (a.has("--from-table")) {
    table = read_table(a.get("--from-table"));
    const std::set<std::string> wanted(tensors.begin(), tensors.end());
    for (const TableEntry& e : table.entries) {
      if (!wanted.count(e.name)) {
        std::fprintf(stderr, "octet quantize: note: table entry '%s' names no quantized tensor; ignored\n",
                     e.name.c_str());
        continue;
      }
      params[e.name] = e.params;
    }
    for (const std::string& t : tensors)
      if (!params.count(t))
        throw Error(a.get("--from-table") + ": no line for tensor '" + t + "', which the model quantizes");
    note = "table " + fs::path(a.get("--from-table")).filename().string();
  } else {
    const Calibration cal = calibrate(a, model, prepared, tensors, o);
    std::string method = method_name(o.method);
    if (o.method == Method::percentile) {
      char buf[32];
      std::snprintf(buf, sizeof buf, " %g", o.percentile);
      method += buf;
    }
    table.header = {"method: " + method, "samples: " + std::to_string(cal.samples), "model: " + path};
    for (const std::string& t : tensors) {
      const Histogram& h = cal.hist.at(t);
      const Range r = choose_range(h, o.method, o.percentile);
      const QParams p = u8_params(r);
      params[t] = p;
      table.entries.push_back(TableEntry{t, r.lo, r.hi, p});
    }
    note = "method " + method;
  }
  if (a.has("--table")) write_table(a.get("--table"), table);

  if (o.weight_bits != 8) note += ", weights " + std::to_string(o.weight_bits) + " bits";
  const Graph q = apply_qdq(prepared, plan, params, note, o.weight_bits);
  save_onnx(q, a.get("-o"));
  std::printf("%s: %zu activation tensors quantized u8 (%zu calibrated), %zu weights s8 per channel, %zu Relu/Clip "
              "folded, %zu nodes kept FP32 by --exclude\n",
              a.get("-o").c_str(), plan.activations.size(), tensors.size(), plan.weighted.size(), plan.removed.size(),
              o.exclude.size());
  return 0;
}

}  // namespace octet::tools
