// Post-training static quantization, whole: model -> prepared model -> plan -> calibration samples -> table ->
// QDQ model. `octet quantize`, the C API (octet_quantizer_*) and the Python module all drive this one class, so
// the three give the same file for the same samples.
//
//   Quantizer q(load_onnx("m.onnx"), {.method = Method::mse});
//   q.add_folder("calib/");                 // or q.add(batch) per float batch [B, ...] of the model's input
//   CalibTable t = q.table();               // ranges from the histograms (write_table to keep it)
//   save_onnx(q.apply(t), "m.int8.onnx");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/image.h"
#include "engine/session.h"
#include "quant/calib_table.h"
#include "quant/histogram.h"
#include "quant/qdq.h"

namespace octet::quant {

class Calibrator;

struct QuantizeOptions {
  Method method = Method::mse;    // the best top-1 on the demo model (docs/quantization.md has the table)
  double percentile = 99.99;      // Method::percentile only
  int64_t samples = 0;            // calibrate on at most this many samples (0: every sample given)
  int weight_bits = 8;            // 8, or 7 (ORT's reduce_range; see quantize_weight)
  std::set<std::string> exclude;  // node names kept FP32
  SessionOptions session;         // threads and input shapes of the calibration runs
};

/// Called after each calibration batch: samples done, samples expected (>= done).
using Progress = std::function<void(int64_t done, int64_t total)>;

class Quantizer {
 public:
  /// Prepares the model (BatchNormalization folded) and plans the rewrite. Throws Error naming the model (opset
  /// below 13, an excluded node that does not exist, shapes that cannot be inferred).
  Quantizer(const Graph& model, QuantizeOptions opt = {});
  ~Quantizer();
  Quantizer(const Quantizer&) = delete;
  Quantizer& operator=(const Quantizer&) = delete;

  const Graph& prepared() const { return prepared_; }
  const QdqPlan& plan() const { return plan_; }
  const QuantizeOptions& options() const { return opt_; }
  /// Names of the tensors calibration measures.
  const std::vector<std::string>& tensors() const { return tensors_; }

  /// Adds one float32 batch [B, ...] of the model's (single) input. With a samples limit, rows past it are
  /// dropped (and a batch after the limit is ignored). Throws Error naming the input on a dtype or rank mismatch.
  void add(const TensorView& batch);
  /// Adds every .png/.jpg/.jpeg/.pb file under `dir` (recursively, sorted by path; with a samples limit, that
  /// many files spread evenly over the list so every class subfolder gets its share). Images are decoded for the
  /// model's input (its C, H, W: from options().session.shapes, else the model) with `preprocessing`, or, when
  /// null, what the model's metadata asks for (as `octet infer` does). Batches of 16, or the model's fixed batch
  /// (the last one filled by repeating its final image, so no zero rows reach the histograms). Throws Error
  /// naming the folder or the bad file.
  void add_folder(const std::string& dir, const ImageOptions* preprocessing = nullptr, const Progress& progress = {});
  /// Samples added so far.
  int64_t samples() const { return samples_; }

  /// The calibration table: one entry per tensor, the method's range of its histogram and the u8 parameters.
  /// `header` lines (method, samples, model) are filled in. Throws Error when no sample was added.
  CalibTable table() const;
  /// The QDQ model with a table's parameters; `note` goes into metadata_props "octet.quantization" (method_note()
  /// for a table this quantizer calibrated, "table FILE" for one read back), with ", weights 7 bits" appended for
  /// 7-bit weights. Table entries that name no quantized tensor are returned in `ignored` (when given); a
  /// quantized tensor with no entry is an Error naming `table_name` and the tensor.
  Graph apply(const CalibTable& table, const std::string& note, const std::string& table_name = "calibration table",
              std::vector<std::string>* ignored = nullptr) const;
  /// "method mse" ("method percentile 99.99").
  std::string method_note() const;

 private:
  Calibrator& calibrator();
  void feed(const TensorView& batch, int64_t total, const Progress& progress);

  std::string model_path_;
  QuantizeOptions opt_;
  Graph prepared_;
  QdqPlan plan_;
  std::vector<std::string> tensors_;
  std::unique_ptr<Calibrator> calibrator_;  // made at the first sample: applying a table needs no session
  int64_t samples_ = 0;
};

/// Every image and .pb file under `dir` (recursively), sorted by path. Throws Error naming the folder when it
/// does not exist, is not a folder, or holds no sample.
std::vector<std::string> list_calibration_samples(const std::string& dir);

/// n items spread evenly over a sorted list (item floor(i * F / n)); the whole list when n <= 0 or n >= F.
std::vector<std::string> spread(const std::vector<std::string>& files, int64_t n);

}  // namespace octet::quant
