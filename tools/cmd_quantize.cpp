// octet quantize MODEL --calib DIR -o OUT.onnx: post-training static quantization to a standard QDQ model.
// Thin: parses flags, shows progress, and calls quant::Quantizer (quant/quantize.h), which the C API and the
// Python module drive too.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "quant/calib_table.h"
#include "quant/quantize.h"
#include "tools/classify.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

namespace fs = std::filesystem;
using namespace octet::quant;

namespace {

void progress(int64_t done, int64_t total) {
  const int width = 30;
  const int fill = total > 0 ? int(std::min<int64_t>(width, done * width / total)) : width;
  std::fprintf(stderr, "\rcalibrating [%s%s] %lld/%lld samples", std::string(size_t(fill), '#').c_str(),
               std::string(size_t(width - fill), '.').c_str(), static_cast<long long>(done),
               static_cast<long long>(total));
  std::fflush(stderr);
}

QuantizeOptions parse_options(const Args& a) {
  QuantizeOptions o;
  o.session = session_options(a);
  if (a.has("--method")) {
    try {
      o.method = parse_method(a.get("--method"));
    } catch (const Error& e) {
      throw UsageError(std::string("--method: ") + e.what());
    }
  }
  if (a.has("--percentile")) {
    if (o.method != Method::percentile) throw UsageError("--percentile applies to --method percentile only");
    o.percentile = a.get_double("--percentile", o.percentile);
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

// Calibrates on the --calib folder, with a progress bar on a terminal. Images are preprocessed as `infer` does
// them (its flags, then the model's metadata).
void calibrate(const Args& a, const Graph& model, Quantizer& q) {
  const ImageOptions iopt = image_options(a, model);
  const bool tty = isatty(2);
  q.add_folder(a.get("--calib"), &iopt, tty ? Progress(progress) : Progress());
  if (tty) std::fputc('\n', stderr);
  else std::fprintf(stderr, "calibrated on %lld samples\n", static_cast<long long>(q.samples()));
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
  const QuantizeOptions o = parse_options(a);
  if (a.has("--from-table") && (a.has("--method") || a.has("--samples") || a.has("--percentile")))
    throw UsageError("--method, --percentile and --samples apply to --calib, not to --from-table");

  const std::string path = a.positional()[0];
  const Graph model = load_onnx(path);
  Quantizer q(model, o);

  CalibTable table;
  std::string note;
  if (a.has("--from-table")) {
    table = read_table(a.get("--from-table"));
    note = "table " + fs::path(a.get("--from-table")).filename().string();
  } else {
    calibrate(a, model, q);
    table = q.table();
    note = q.method_note();
  }
  if (a.has("--table")) write_table(a.get("--table"), table);
  std::vector<std::string> ignored;
  const Graph out = q.apply(table, note, a.get("--from-table", "calibration table"), &ignored);
  for (const std::string& name : ignored)
    std::fprintf(stderr, "octet quantize: note: table entry '%s' names no quantized tensor; ignored\n", name.c_str());
  const QdqPlan& plan = q.plan();
  save_onnx(out, a.get("-o"));
  std::printf("%s: %zu activation tensors quantized u8 (%zu calibrated), %zu weights s8 per channel, %zu Relu/Clip "
              "folded, %zu nodes kept FP32 by --exclude\n",
              a.get("-o").c_str(), plan.activations.size(), q.tensors().size(), plan.weighted.size(), plan.removed.size(),
              o.exclude.size());
  return 0;
}

}  // namespace octet::tools
