#include "engine/plan.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <set>

#include "graph/passes.h"
#include "graph/shape_inference.h"

namespace octet {

namespace {

size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

bool all_inputs_constant(const Graph& g, const Node& n) {
  for (int v : n.inputs)
    if (v >= 0 && !g.values[v].constant) return false;
  return true;
}

std::unique_ptr<Kernel> make_kernel(const Graph& g, int node, kernels::Isa isa, int threads) {
  const Node& n = g.nodes[node];
  KernelFactory f = KernelRegistry::instance().find(n.domain, n.op_type);
  if (!f) throw Unsupported(g.where(node) + ": no kernel for op " + n.op_type);
  KernelInfo info{g, node, isa, threads};
  return f(info);
}

// Physical layout for conv chains: OCTET_LAYOUT=plain|nhwc overrides the default (for tests and bisecting).
Layout preferred_layout() {
  static const Layout l = [] {
    const char* e = std::getenv("OCTET_LAYOUT");
    if (e && std::string(e) == "plain") return Layout::plain;
    return Layout::nhwc;
  }();
  return l;
}

bool is_dequantize(const Node& n) { return n.domain.empty() && n.op_type == "DequantizeLinear"; }

}  // namespace

void evaluate_constant_node(Graph& g, int node, kernels::Isa isa) {
  const Node& n = g.nodes[node];
  auto kernel = make_kernel(g, node, isa, 1);
  std::vector<TensorView> in(n.inputs.size()), out;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (n.inputs[i] >= 0) in[i] = g.values[n.inputs[i]].constant->view();
  std::vector<std::shared_ptr<Tensor>> results;
  for (int o : n.outputs) {
    if (o < 0) {
      out.push_back(TensorView{});
      results.push_back(nullptr);
      continue;
    }
    auto t = std::make_shared<Tensor>(g.values[o].dtype, g.values[o].shape());
    out.push_back(t->view());
    results.push_back(t);
  }
  std::vector<char> ws(kernel->workspace_bytes() + 64);
  ExecContext ctx;
  ctx.workspace = reinterpret_cast<void*>(round_up(reinterpret_cast<uintptr_t>(ws.data()), 64));
  kernel->run(ctx, in, out);
  for (size_t i = 0; i < n.outputs.size(); ++i)
    if (n.outputs[i] >= 0) g.values[n.outputs[i]].constant = results[i];
}

namespace {
// Second folding sweep, after the passes: nodes (DequantizeLinear of constants not fused into an int8 op) whose
// inputs are all constant are evaluated and removed.
void fold_remaining_constants(Graph& g, kernels::Isa isa) {
  for (int n : g.topo_order()) {
    Node& node = g.nodes[n];
    if (!all_inputs_constant(g, node)) continue;
    evaluate_constant_node(g, n, isa);
    g.nodes[n].dead = true;
  }
}
}  // namespace

Plan::Plan(const Graph& model, const std::vector<Shape>& input_shapes, const SessionOptions& opt,
           const std::vector<const TensorView*>& input_values)
    : g_(model), opt_(opt) {
  build(input_shapes, input_values);
}

Plan::Plan(Graph&& model, const std::vector<Shape>& input_shapes, const SessionOptions& opt,
           const std::vector<const TensorView*>& input_values)
    : g_(std::move(model)), opt_(opt) {
  build(input_shapes, input_values);
}

void Plan::build(const std::vector<Shape>& input_shapes, const std::vector<const TensorView*>& input_values) {
  const SessionOptions& opt = opt_;
  const int threads = opt.threads > 0 ? opt.threads : available_cores();
  // Sessions share the process-wide pool by default, so N sessions do not start N x threads workers that fight
  // for the cores; a pool of its own isolates a session from the others' runs (ThreadPool runs a concurrent
  // caller inline rather than wait).
  if (threads > 1) pool_ = opt.shared_pool ? ThreadPool::shared(threads) : std::make_shared<ThreadPool>(threads);
  bind_and_fold(input_shapes, input_values);
  if (opt_.optimize) optimize(g_, PassOptions::from_env());
  fold_remaining_constants(g_, opt_.max_isa);
  if (opt_.optimize) assign_layouts(g_, preferred_layout());
  g_.compact();
  create_kernels();
  plan_memory();
}

// Binds the input shapes, then walks the graph once in topological order: infer each node's outputs and, when
// all its inputs are constant, evaluate it now. Shape subgraphs (Shape -> Gather -> Concat -> Reshape) become
// constants this way, so later passes and kernels see plain constant shapes.
void Plan::bind_and_fold(const std::vector<Shape>& input_shapes,
                         const std::vector<const TensorView*>& input_values) {
  if (input_shapes.size() != g_.inputs.size())
    throw Error(g_.path + ": the model has " + std::to_string(g_.inputs.size()) + " inputs, got " +
                std::to_string(input_shapes.size()));
  for (size_t i = 0; i < g_.inputs.size(); ++i) {
    Value& v = g_.values[g_.inputs[i]];
    const Shape& s = input_shapes[i];
    bool ok = !v.has_shape || v.dims.size() == s.size();
    for (size_t d = 0; ok && v.has_shape && d < s.size(); ++d)
      if (v.dims[d].known() && v.dims[d].value != s[d]) ok = false;
    if (!ok) {
      std::string want;
      for (size_t d = 0; d < v.dims.size(); ++d) {
        if (d) want.push_back('x');
        want.append(v.dims[d].known() ? std::to_string(v.dims[d].value) : v.dims[d].symbol);
      }
      throw Error(g_.path + ": input '" + v.name + "' expects shape " + (want.empty() ? "scalar" : want) + ", got " +
                  shape_str(s));
    }
    v.set_shape(s);
    if (i < input_values.size() && input_values[i]) {
      const TensorView& t = *input_values[i];
      auto c = std::make_shared<Tensor>(t.dtype, t.shape);
      std::memcpy(c->data(), t.data, c->bytes());
      v.constant = std::move(c);
    }
  }
  for (int n : g_.topo_order()) {
    infer_node(g_, n);
    // DequantizeLinear of a constant (an int8 weight) is left for graph/passes/lower_qdq.cpp to fuse; the sweep
    // after optimize() folds whatever it leaves on FP32 paths.
    if (all_inputs_constant(g_, g_.nodes[n]) && !is_dequantize(g_.nodes[n])) {
      bool produced = true;
      for (int o : g_.nodes[n].outputs)
        if (o >= 0 && !g_.values[o].constant) produced = false;
      if (!produced) evaluate_constant_node(g_, n, opt_.max_isa);
    }
  }
  // Nodes whose outputs are now all constant are dead: their consumers read the constants.
  for (Node& n : g_.nodes) {
    bool all_const = true;
    for (int o : n.outputs)
      if (o >= 0 && !g_.values[o].constant) all_const = false;
    if (all_const) n.dead = true;
  }
}

void Plan::create_kernels() {
  std::vector<std::string> missing;
  std::vector<int> order = g_.topo_order();
  for (int n : order) {
    const Node& node = g_.nodes[n];
    if (!KernelRegistry::instance().find(node.domain, node.op_type))
      missing.push_back(node.op_type + " (node '" + node.name + "')");
  }
  if (!missing.empty()) {
    std::string msg = g_.path + ": unsupported op" + (missing.size() > 1 ? "s: " : ": ");
    for (size_t i = 0; i < missing.size(); ++i) msg += (i ? ", " : "") + missing[i];
    throw Unsupported(msg);
  }
  // A constant that every step reading it has packed into its kernel (Kernel::input_packed: conv and GEMM
  // weights) is never read by run(): once its last reader is created, keep its dtype and shape (for describe()
  // and the planner) and drop this graph's reference to its bytes. They are freed then, unless the caller still
  // holds the tensor (a Session that keeps its model's constants, engine/session.h). Without this a ResNet-50
  // INT8 session holds every weight twice: s8 in the graph and widened to s16 in the packed kernels.
  std::vector<int> readers_left(g_.values.size(), 0);
  std::vector<uint8_t> read_at_run(g_.values.size(), 0);
  for (int n : order)
    for (int v : g_.nodes[n].inputs)
      if (v >= 0 && g_.values[v].constant) ++readers_left[size_t(v)];
  for (int n : order) {
    steps_.push_back(Step{n, make_kernel(g_, n, opt_.max_isa, threads())});
    const Node& node = g_.nodes[n];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int v = node.inputs[k];
      if (v < 0 || !g_.values[v].constant) continue;
      if (!steps_.back().kernel->input_packed(int(k))) read_at_run[size_t(v)] = 1;
      if (--readers_left[size_t(v)] > 0 || read_at_run[size_t(v)] || g_.is_output(v)) continue;
      const Tensor& c = *g_.values[v].constant;
      g_.values[v].constant = std::make_shared<const Tensor>(c.dtype(), c.shape(), Tensor::Released{});
    }
  }
}

// Arena planning by liveness. Each value computed at run time lives from the step that writes it to the last step
// that reads it (graph outputs: to the end). Values are placed largest first at the lowest offset that does not
// overlap, in both time and address, any value already placed (greedy best-fit of a 2-D packing). An element-wise
// kernel may write its output over an input that dies at that step (Kernel::inplace_input).
void Plan::plan_memory() {
  const int nsteps = int(steps_.size());
  const size_t nvals = g_.values.size();
  std::vector<int> first(nvals, -1), last(nvals, -1), alias(nvals);
  std::iota(alias.begin(), alias.end(), 0);
  std::set<int> external(g_.inputs.begin(), g_.inputs.end());
  for (int s = 0; s < nsteps; ++s) {
    const Node& n = g_.nodes[steps_[s].node];
    for (int v : n.inputs)
      if (v >= 0) last[v] = s;
    for (int v : n.outputs)
      if (v >= 0) first[v] = s, last[v] = std::max(last[v], s);
  }
  for (int v : g_.outputs) last[v] = nsteps;
  auto in_arena = [&](int v) { return first[v] >= 0 && !g_.values[v].constant && !external.count(v); };

  // In-place: output 0 takes the buffer of an input whose life ends at this step.
  for (int s = 0; s < nsteps; ++s) {
    const Node& n = g_.nodes[steps_[s].node];
    int i = steps_[s].kernel->inplace_input();
    if (i < 0 || i >= int(n.inputs.size()) || n.outputs.empty()) continue;
    int in = n.inputs[i], out = n.outputs[0];
    if (in < 0 || out < 0 || !in_arena(in) || !in_arena(out)) continue;
    int root = alias[in];
    if (last[root] != s || g_.is_output(in)) continue;
    if (g_.values[in].bytes_hint() != g_.values[out].bytes_hint()) continue;
    if (std::count(n.inputs.begin(), n.inputs.end(), in) > 1) continue;
    alias[out] = root;
    last[root] = std::max(last[root], last[out]);
  }
  for (size_t v = 0; v < nvals; ++v)
    if (alias[v] != int(v)) last[alias[v]] = std::max(last[alias[v]], last[v]);

  struct Block {
    int v;
    size_t size;
  };
  std::vector<Block> blocks;
  for (size_t v = 0; v < nvals; ++v)
    if (alias[v] == int(v) && in_arena(int(v))) blocks.push_back({int(v), round_up(g_.values[v].bytes_hint(), 64)});
  std::stable_sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.size > b.size; });

  offset_.assign(nvals, -1);
  struct Placed {
    size_t off, size;
    int first, last;
  };
  std::vector<Placed> placed;
  size_t total = 0;
  for (const Block& b : blocks) {
    const int f = first[b.v], l = last[b.v];
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& p : placed)
      if (p.first <= l && f <= p.last) busy.emplace_back(p.off, p.off + p.size);
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (auto [lo, hi] : busy) {
      if (off + b.size <= lo) break;
      off = std::max(off, hi);
    }
    placed.push_back({off, b.size, f, l});
    offset_[b.v] = int64_t(off);
    total = std::max(total, off + b.size);
  }
  for (size_t v = 0; v < nvals; ++v)
    if (alias[v] != int(v) && in_arena(int(v))) offset_[v] = offset_[alias[v]];

  size_t ws = 0;
  for (const Step& s : steps_) ws = std::max(ws, s.kernel->workspace_bytes());
  workspace_offset_ = round_up(total, 64);
  arena_bytes_ = workspace_offset_ + round_up(ws, 64);
}

Plan::Arena::~Arena() { aligned_free64(base); }

std::unique_ptr<Plan::Arena> Plan::take_arena() {
  {
    std::lock_guard<std::mutex> l(arenas_mu_);
    if (!arenas_.empty()) {
      auto a = std::move(arenas_.back());
      arenas_.pop_back();
      return a;
    }
  }
  auto a = std::make_unique<Arena>();
  a->base = aligned_alloc64(arena_bytes_);
  return a;
}

void Plan::give_arena(std::unique_ptr<Arena> a) {
  std::lock_guard<std::mutex> l(arenas_mu_);
  arenas_.push_back(std::move(a));
}

std::vector<Tensor> Plan::run(const std::vector<TensorView>& inputs,
                              const std::function<void(const StepTiming&)>& on_step) {
  std::vector<Tensor> outs;
  std::vector<TensorView> views;
  outs.reserve(g_.outputs.size());
  for (int o : g_.outputs) {
    outs.emplace_back(g_.values[o].dtype, g_.values[o].shape());
    views.push_back(outs.back().view());
  }
  run_into(inputs, views, on_step);
  return outs;
}

void Plan::run_into(const std::vector<TensorView>& inputs, std::span<const TensorView> outputs,
                    const std::function<void(const StepTiming&)>& on_step) {
  if (outputs.size() != g_.outputs.size())
    throw Error(g_.path + ": the model has " + std::to_string(g_.outputs.size()) + " outputs, got " +
                std::to_string(outputs.size()) + " output buffers");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Value& v = g_.values[g_.outputs[i]];
    const TensorView& t = outputs[i];
    if (t.dtype != v.dtype || t.shape != v.shape() || t.layout != Layout::plain || (!t.data && t.bytes()))
      throw Error(g_.path + ": output '" + v.name + "' is " + dtype_name(v.dtype) + " " + shape_str(v.shape()) +
                  ", the buffer given for it is " + dtype_name(t.dtype) + " " + shape_str(t.shape) +
                  (t.data || !t.bytes() ? "" : " with no data"));
  }
  if (inputs.size() != g_.inputs.size())
    throw Error(g_.path + ": the model has " + std::to_string(g_.inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  std::unique_ptr<Arena> arena = take_arena();
  struct Return {
    Plan* p;
    std::unique_ptr<Arena>& a;
    ~Return() { p->give_arena(std::move(a)); }
  } give_back{this, arena};

  std::vector<TensorView> views(g_.values.size());
  for (size_t i = 0; i < g_.inputs.size(); ++i) {
    const Value& v = g_.values[g_.inputs[i]];
    const TensorView& t = inputs[i];
    if (t.dtype != v.dtype)
      throw Error(g_.path + ": input '" + v.name + "' expects " + dtype_name(v.dtype) + ", got " +
                  dtype_name(t.dtype));
    if (t.shape != v.shape())
      throw Error(g_.path + ": input '" + v.name + "' was compiled for shape " + shape_str(v.shape()) + ", got " +
                  shape_str(t.shape));
    views[g_.inputs[i]] = t;
  }
  char* base = static_cast<char*>(arena->base);
  for (size_t v = 0; v < g_.values.size(); ++v) {
    const Value& val = g_.values[v];
    if (val.constant) {
      views[v] = val.constant->view();
    } else if (offset_[v] >= 0) {
      views[v] = TensorView{val.dtype, val.shape(), val.layout, base + offset_[v]};
    }
  }
  ExecContext ctx;
  ctx.parallel = pool_ && pool_->threads() > 1 ? pool_.get() : nullptr;
  ctx.workspace = base + workspace_offset_;
  std::vector<TensorView> in, out;
  for (int s = 0; s < int(steps_.size()); ++s) {
    const Node& n = g_.nodes[steps_[s].node];
    in.clear();
    out.clear();
    for (int v : n.inputs) in.push_back(v >= 0 ? views[v] : TensorView{});
    for (int v : n.outputs) out.push_back(v >= 0 ? views[v] : TensorView{});
    auto t0 = std::chrono::steady_clock::now();
    steps_[s].kernel->run(ctx, in, out);
    if (on_step) on_step(StepTiming{s, t0, std::chrono::steady_clock::now(), &out});
  }
  for (size_t i = 0; i < g_.outputs.size(); ++i) {
    const TensorView& src = views[g_.outputs[i]];
    if (src.layout != Layout::plain)
      throw Error(g_.path + ": internal: graph output '" + g_.values[g_.outputs[i]].name + "' is not in plain layout");
    // Graph outputs are copied out of the arena once, into the caller's buffer (they are small for the models
    // octet targets; an output that is a constant or an input is copied the same way).
    if (outputs[i].bytes()) std::memcpy(outputs[i].data, src.data, outputs[i].bytes());
  }
}

namespace {

// An int8 kernel named "<op>/<tier>..." (or "<op>/baseline") below the session's tier: every int8 op runs on every
// tier, a tier without its own kernel for an op taking the next lower one's, and inspect says so.
std::string tier_fallback_note(const std::string& kernel, kernels::Isa session) {
  const size_t slash = kernel.find('/');
  if (slash == std::string::npos) return "";
  const std::string tier = kernel.substr(slash + 1, kernel.find_first_of(":+/", slash + 1) - slash - 1);
  if (tier == "baseline") {
    if (session == kernels::Isa::scalar) return "";
    return std::string("no ") + kernels::isa_name(session) + " kernel for this op: runs the baseline (x86-64) one";
  }
  for (kernels::Isa t : {kernels::Isa::scalar, kernels::Isa::avx2, kernels::Isa::avxvnni, kernels::Isa::avx512,
                         kernels::Isa::avx512vnni})
    if (tier == kernels::isa_name(t) && t != session)
      return std::string("no ") + kernels::isa_name(session) + " kernel for this op: runs the " + tier + " one";
  return "";
}

}  // namespace

std::vector<NodeReport> Plan::describe() const {
  std::vector<NodeReport> r;
  auto shapes = [&](const std::vector<int>& vals) {
    std::string s;
    for (int v : vals) {
      if (v < 0) continue;
      const Value& val = g_.values[v];
      if (!s.empty()) s += ", ";
      s += val.shape_known() ? shape_str(val.shape()) : "?";
      if (val.layout != Layout::plain) s += std::string("(") + layout_name(val.layout) + ")";
      if (val.constant) s += "(const)";
    }
    return s;
  };
  for (const Step& st : steps_) {
    const Node& n = g_.nodes[st.node];
    NodeReport nr;
    nr.name = n.name;
    nr.op = n.op_type;
    for (size_t i = 0; i < n.fusion.parts.size(); ++i) nr.fused += (i ? "+" : "") + n.fusion.parts[i];
    nr.kernel = st.kernel->name();
    nr.precision = n.outputs.empty() || n.outputs[0] < 0 ? "" : dtype_name(g_.values[n.outputs[0]].dtype);
    nr.in_shapes = shapes(n.inputs);
    nr.out_shapes = shapes(n.outputs);
    nr.note = n.note;
    if (nr.note.empty() && n.domain == "octet" && n.op_type.size() > 1 && n.op_type[0] == 'Q')
      nr.note = tier_fallback_note(nr.kernel, std::min(opt_.max_isa, kernels::detected_isa()));
    r.push_back(std::move(nr));
  }
  return r;
}

}  // namespace octet
