#include "engine/session.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "engine/kernel.h"
#include "engine/plan.h"
#include "engine/thread_pool.h"
#include "graph/onnx_import.h"
#include "graph/shape_inference.h"

namespace octet {

namespace {
// (op, input index) pairs whose value decides an output shape.
bool is_shape_operand(const Node& n, size_t input) {
  static const std::vector<std::pair<std::string, size_t>> kShapeOperands = {
      {"Reshape", 1}, {"Squeeze", 1}, {"Unsqueeze", 1}, {"Expand", 1}, {"Tile", 1}, {"ConstantOfShape", 0},
      {"Slice", 1}, {"Slice", 2}, {"Slice", 3}, {"Slice", 4}, {"Resize", 2}, {"Resize", 3}, {"Pad", 1},
      // Data-movement ops (graph/shape_inference_data.cpp): values that set a shape or that the kernel is built
      // for (Resize's roi, Pad's constant value, CumSum's axis, Trilu's k). Float ones too: Range's bounds,
      // Resize-10 / Upsample-9 scales, OneHot's depth.
      {"Split", 1}, {"TopK", 1}, {"Range", 0}, {"Range", 1}, {"Range", 2}, {"OneHot", 1}, {"Upsample", 1},
      {"Resize", 1}, {"Pad", 2}, {"CumSum", 1}, {"Trilu", 1},
      // Reduce*: axes (ReduceSum from opset 13, the others from 18)
      {"ReduceSum", 1}, {"ReduceMean", 1}, {"ReduceMax", 1}, {"ReduceMin", 1}, {"ReduceProd", 1}, {"ReduceL1", 1},
      {"ReduceL2", 1}, {"ReduceLogSum", 1}, {"ReduceLogSumExp", 1}, {"ReduceSumSquare", 1}};
  for (auto& [op, i] : kShapeOperands)
    if (n.op_type == op && n.domain.empty() && i == input) return true;
  return false;
}
}  // namespace

namespace {
// The identity of a model file: size and modification time (in file_clock ticks, whose epoch libstdc++ puts in
// the future: the count may be negative), read before the load so that a write during the load shows as a change
// later. nullopt when the file cannot be examined.
std::optional<std::pair<uintmax_t, int64_t>> file_identity(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  const auto t = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  return std::pair<uintmax_t, int64_t>{size, int64_t(t.time_since_epoch().count())};
}
}  // namespace

std::unique_ptr<Session> Session::load(const std::string& path, SessionOptions opt) {
  const auto id = file_identity(path);
  // Without keep_constants the constants are dropped once the first plan has packed them, so the int8 weights
  // may borrow the file's mapping until then (load_onnx's `borrow`); plan_for checks the file is unchanged
  // before reading them.
  const bool borrow = id && !opt.keep_constants;
  auto s = std::make_unique<Session>(load_onnx(path, borrow), std::move(opt));
  if (id && !s->opt_.keep_constants) {
    s->source_ = path;
    s->source_size_ = id->first;
    s->source_mtime_ = id->second;
    s->borrowed_ = borrow;
  }
  return s;
}

// Every constant of the model keeps its dtype and shape and loses its data (Tensor::Released). Data that a plan
// still reads stays alive through the plan's own reference; the rest (weights only packed kernels read, constants
// the passes replaced, e.g. BN-folded conv weights) is freed here.
void Session::release_model_constants() {
  for (Value& v : model_.values)
    if (v.constant && !v.constant->empty())
      v.constant = std::make_shared<const Tensor>(v.constant->dtype(), v.constant->shape(), Tensor::Released{});
  constants_released_ = true;
}

void Session::check_source_unchanged(const char* why) const {
  const auto id = file_identity(source_);
  if (!id || id->first != source_size_ || id->second != source_mtime_)
    throw Error(source_ + ": the model file changed (or went) since the session loaded it, and " + why +
                " (SessionOptions::keep_constants keeps them in memory)");
}

Graph Session::reload_model() const {
  check_source_unchanged("compiling for new input shapes needs its constants again");
  return load_onnx(source_, true);
}

// Validation at load: every op must be known to shape inference and have a kernel. All problems are reported in
// one message, grouped by op so a model with 28 HardSigmoid nodes says so once:
//   "m.onnx: unsupported ops: HardSigmoid (opset 11) at 28 nodes ('a', 'b', 'c', ...); Resize (opset 11) at node 'r'"
Session::Session(Graph g, SessionOptions opt) : model_(std::move(g)), opt_(std::move(opt)) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;  // op label -> node names, in model order
  auto add = [&](const std::string& label, const std::string& node) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& gr) { return gr.first == label; });
    if (it == groups.end()) it = groups.insert(groups.end(), {label, {}});
    it->second.push_back(node);
  };
  for (const Node& n : model_.nodes) {
    if (n.dead) continue;
    const std::string op = (n.domain.empty() ? "" : n.domain + ".") + n.op_type;
    const int64_t opset = model_.opset(n.domain);
    if (std::string why = op_refusal(n.domain, n.op_type, opset); !why.empty())
      add(why, n.name);
    else if (!KernelRegistry::instance().find(n.domain, n.op_type))
      add(op + " (no kernel)", n.name);
  }
  if (!groups.empty()) {
    constexpr size_t kNamesShown = 3;
    std::string msg = model_.path + ": unsupported op" + (groups.size() > 1 ? "s" : "") + ": ";
    for (size_t i = 0; i < groups.size(); ++i) {
      const auto& [label, nodes] = groups[i];
      msg += (i ? "; " : "") + label;
      if (nodes.size() == 1) {
        msg += " at node '" + nodes[0] + "'";
        continue;
      }
      msg += " at " + std::to_string(nodes.size()) + " nodes (";
      for (size_t k = 0; k < std::min(nodes.size(), kNamesShown); ++k) msg += (k ? ", '" : "'") + nodes[k] + "'";
      msg += nodes.size() > kNamesShown ? ", ...)" : ")";
    }
    throw Unsupported(msg);
  }
  shape_input_.assign(model_.inputs.size(), false);
  for (size_t i = 0; i < model_.inputs.size(); ++i) {
    const int v = model_.inputs[i];
    // Small operands only: a shape operand of float type (Range, Resize scales) is frozen as well.
    if (model_.values[v].has_shape && model_.values[v].shape_known() && num_elements(model_.values[v].shape()) > 64)
      continue;
    for (const Node& n : model_.nodes)
      for (size_t k = 0; k < n.inputs.size(); ++k)
        if (n.inputs[k] == v && is_shape_operand(n, k)) shape_input_[i] = true;
  }
  for (auto& [name, shape] : opt_.shapes) {
    bool found = false;
    for (int v : model_.inputs) found |= model_.values[v].name == name;
    if (!found) {
      std::string names;
      for (int v : model_.inputs) names += (names.empty() ? "'" : ", '") + model_.values[v].name + "'";
      throw Error(model_.path + ": --shape names input '" + name + "', but the model's inputs are " + names);
    }
  }
}

Session::~Session() = default;



int Session::threads() const { return opt_.threads > 0 ? opt_.threads : available_cores(); }

Shape Session::default_input_shape(size_t i) const {
  const Value& v = input(i);
  if (auto it = opt_.shapes.find(v.name); it != opt_.shapes.end()) return it->second;
  if (!v.has_shape)
    throw Error(model_.path + ": input '" + v.name + "' has no shape in the model; give one with --shape " + v.name +
                "=...");
  Shape s;
  for (const Dim& d : v.dims) s.push_back(d.known() ? d.value : 1);
  return s;
}

size_t Session::cached_plans() const {
  std::lock_guard<std::mutex> l(mu_);
  return plans_.size();
}

std::shared_ptr<Plan> Session::plan_for(const std::vector<Shape>& input_shapes, const std::vector<TensorView>& inputs) {
  std::string values;
  std::vector<const TensorView*> frozen(input_shapes.size(), nullptr);
  for (size_t i = 0; i < shape_input_.size() && i < input_shapes.size(); ++i) {
    if (!shape_input_[i]) continue;
    if (i >= inputs.size())
      throw Error(model_.path + ": input '" + input(i).name + "' sets a shape; its value is needed to compile");
    frozen[i] = &inputs[i];
    values.append(static_cast<const char*>(inputs[i].data), inputs[i].bytes());
  }
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < plans_.size(); ++i)
    if (plans_[i].shapes == input_shapes && plans_[i].values == values) {
      std::rotate(plans_.begin() + i, plans_.begin() + i + 1, plans_.end());  // now the most recently used
      return plans_.back().plan;
    }
  std::shared_ptr<Plan> plan;
  if (source_.empty()) {
    plan = std::make_shared<Plan>(model_, input_shapes, opt_, frozen);
  } else {
    // The plan gets the only reference to the constants (a copy of the model, or a fresh read of the file), so
    // each weight is freed as soon as it is packed; the model keeps names, dtypes and shapes.
    if (borrowed_ && !constants_released_)
      check_source_unchanged("its int8 weights are still read from the file (they are copied only when packed)");
    Graph full = constants_released_ ? reload_model() : model_;
    if (!constants_released_) release_model_constants();
    plan = std::make_shared<Plan>(std::move(full), input_shapes, opt_, frozen);
  }
  ++plans_compiled_;
  if (opt_.max_cached_plans && plans_.size() >= opt_.max_cached_plans) plans_.erase(plans_.begin());
  plans_.push_back(CachedPlan{input_shapes, values, plan});
  return plan;
}

std::vector<Tensor> Session::run(const std::vector<TensorView>& inputs) {
  std::vector<Shape> shapes;
  for (const TensorView& t : inputs) shapes.push_back(t.shape);
  return plan_for(shapes, inputs)->run(inputs);
}

void Session::run_into(const std::vector<TensorView>& inputs, std::span<const TensorView> outputs) {
  std::vector<Shape> shapes;
  for (const TensorView& t : inputs) shapes.push_back(t.shape);
  plan_for(shapes, inputs)->run_into(inputs, outputs);
}

std::vector<NodeReport> Session::describe(const std::vector<Shape>& input_shapes) {
  std::vector<Shape> shapes = input_shapes;
  if (shapes.empty())
    for (size_t i = 0; i < num_inputs(); ++i) shapes.push_back(default_input_shape(i));
  return plan_for(shapes)->describe();
}

}  // namespace octet
