// Calibration observer: runs the prepared float model on sample batches and keeps one Histogram per tensor to
// be quantized. Activations are read from the plan's per-step callback (StepTiming::outputs) while they are in
// the arena, so nothing is stored but the histograms.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/session.h"
#include "quant/histogram.h"

namespace octet::quant {

class Calibrator {
 public:
  /// `prepared`: the model from prepare_model(); `tensors`: the names to observe (QdqPlan::calibrated()).
  /// The model is compiled without the engine's passes (SessionOptions::optimize = false): every value keeps its
  /// name and the plain NCHW layout, and a Conv's output is seen before the Relu that follows it.
  /// Throws Error when a name is not a value of the model or the model has more than one input.
  Calibrator(const Graph& prepared, const std::vector<std::string>& tensors, SessionOptions opt = {});
  ~Calibrator();

  /// Runs one batch of the model's first input (float, [B, ...]); every observed tensor's values are added.
  void add(const TensorView& batch);
  /// Samples seen so far (the sum of the batches' first dims).
  int64_t samples() const { return samples_; }
  /// One histogram per observed tensor. Throws Error naming a tensor that no run computed (e.g. one the engine
  /// folded to a constant: exclude its node).
  const std::map<std::string, Histogram>& histograms() const;

 private:
  std::unique_ptr<Session> session_;
  std::map<std::string, Histogram> hist_;
  int64_t samples_ = 0;
};

}  // namespace octet::quant
