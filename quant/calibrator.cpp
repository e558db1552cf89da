#include "quant/calibrator.h"

#include "engine/plan.h"

namespace octet::quant {

Calibrator::Calibrator(const Graph& prepared, const std::vector<std::string>& tensors, SessionOptions opt) {
  if (prepared.inputs.size() != 1)
    throw Error(prepared.path + ": the model has " + std::to_string(prepared.inputs.size()) +
                " inputs; calibration feeds one input only");
  for (const std::string& t : tensors) {
    if (prepared.find_value(t) < 0) throw Error(prepared.path + ": no tensor named '" + t + "' to calibrate");
    hist_.emplace(t, Histogram());
  }
  opt.optimize = false;
  session_ = std::make_unique<Session>(prepared, std::move(opt));
}

Calibrator::~Calibrator() = default;

void Calibrator::add(const TensorView& batch) {
  if (batch.dtype != DType::f32)
    throw Error(session_->model().path + ": calibration input must be float32, got " + dtype_name(batch.dtype));
  if (batch.shape.empty()) throw Error(session_->model().path + ": calibration input is a scalar");
  const std::string& in_name = session_->input(0).name;
  if (auto it = hist_.find(in_name); it != hist_.end()) it->second.add(batch.as<float>(), size_t(batch.numel()));

  std::shared_ptr<Plan> plan_ref = session_->plan_for({batch.shape}, {batch});
  Plan& plan = *plan_ref;
  const Graph& pg = plan.graph();
  // Per step: (output index, histogram) pairs, resolved once per run from the compiled graph's value names.
  std::vector<std::vector<std::pair<size_t, Histogram*>>> watch(plan.num_steps());
  for (size_t s = 0; s < plan.num_steps(); ++s) {
    const Node& n = pg.nodes[plan.step_node(int(s))];
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o] < 0) continue;
      auto it = hist_.find(pg.values[n.outputs[o]].name);
      if (it != hist_.end()) watch[s].push_back({o, &it->second});
    }
  }
  plan.run({batch}, [&](const StepTiming& t) {
    for (auto [o, h] : watch[size_t(t.step)]) {
      const TensorView& v = (*t.outputs)[o];
      // Plans compiled without passes keep the plain layout; a float tensor is read as it lies.
      if (v.dtype != DType::f32 || v.layout != Layout::plain || !v.data) continue;
      h->add(v.as<float>(), size_t(v.numel()));
    }
  });
  samples_ += batch.shape[0];
}

const std::map<std::string, Histogram>& Calibrator::histograms() const {
  for (const auto& [name, h] : hist_)
    if (h.count() == 0)
      throw Error(session_->model().path + ": tensor '" + name +
                  "' was never computed during calibration (folded to a constant?); exclude the node that reads it "
                  "with --exclude");
  return hist_;
}

}  // namespace octet::quant
