#include "engine/profile.h"

#include <cstdio>
#include <fstream>

namespace octet {

int64_t node_macs(const Graph& g, int node) {
  const Node& n = g.nodes[node];
  if (n.outputs.empty() || n.outputs[0] < 0 || !g.values[n.outputs[0]].shape_known()) return 0;
  const Shape out = g.values[n.outputs[0]].shape();
  // The int8 forms (QLinearConv, octet's lowered QConv / QGemm) have the weight at input 3, after x's scale and
  // zero point.
  const bool qconv = n.op_type == "QLinearConv" || n.op_type == "QConv";
  if ((n.op_type == "Conv" || qconv) && n.inputs.size() >= 4 - (qconv ? 0 : 2)) {
    // Every output element sums (C_in / group) * prod(kernel) products.
    const int w_index = qconv ? 3 : 1;
    if (n.inputs[w_index] < 0 || !g.values[n.inputs[w_index]].shape_known()) return 0;
    const Shape w = g.values[n.inputs[w_index]].shape();
    int64_t per_out = 1;
    for (size_t i = 1; i < w.size(); ++i) per_out *= w[i];
    return num_elements(out) * per_out;
  }
  const bool gemm = n.op_type == "Gemm" || n.op_type == "MatMul" || n.op_type == "QGemm" ||
                    n.op_type == "QLinearMatMul";
  if (gemm && n.inputs.size() >= 2 && n.inputs[0] >= 0) {
    // M x N outputs, each a K-long dot product; K is the reduced dim of A.
    const Shape a = g.values[n.inputs[0]].shape();
    int64_t k = a.empty() ? 1 : a.back();
    if (n.op_type == "Gemm" && n.attr_i("transA", 0) && a.size() == 2) k = a[0];
    return num_elements(out) * k;
  }
  return 0;
}

Profiler::Profiler(const Plan& plan, size_t max_trace_runs)
    : plan_(plan), max_trace_runs_(max_trace_runs), total_ms_(plan.num_steps(), 0.0) {}

void Profiler::on_step(const StepTiming& t) {
  if (!have_origin_) {
    origin_ = t.start;
    have_origin_ = true;
  }
  const double dur_ms = std::chrono::duration<double, std::milli>(t.end - t.start).count();
  total_ms_[t.step] += dur_ms;
  if (runs_ < max_trace_runs_)
    events_.push_back({t.step, std::chrono::duration<double, std::micro>(t.start - origin_).count(), dur_ms * 1000});
}

std::vector<Profiler::Row> Profiler::table() const {
  std::vector<Row> rows;
  auto reports = plan_.describe();
  double sum = 0;
  for (double t : total_ms_) sum += t;
  const double runs = runs_ ? double(runs_) : 1.0;
  for (size_t s = 0; s < total_ms_.size(); ++s) {
    Row r;
    r.node = reports[s].name;
    r.op = reports[s].op;
    r.fused = reports[s].fused;
    r.kernel = reports[s].kernel;
    r.precision = reports[s].precision;
    r.ms = total_ms_[s] / runs;
    r.percent = sum > 0 ? 100.0 * total_ms_[s] / sum : 0;
    const int64_t macs = node_macs(plan_.graph(), plan_.step_node(int(s)));
    r.gmacs = r.ms > 0 ? double(macs) / (r.ms * 1e6) : 0;
    rows.push_back(std::move(r));
  }
  return rows;
}

void Profiler::print_table(std::FILE* f) const {
  std::fprintf(f, "%-4s %-44s %-12s %-8s %-30s %9s %6s %8s  %s\n", "#", "node", "op", "prec", "kernel", "ms", "%",
               "GMAC/s", "fused");
  int i = 0;
  double total = 0;
  for (const Row& r : table()) {
    total += r.ms;
    std::string node = r.node.size() > 44 ? "..." + r.node.substr(r.node.size() - 41) : r.node;
    std::fprintf(f, "%-4d %-44s %-12s %-8s %-30s %9.3f %6.2f %8.2f  %s\n", i++, node.c_str(), r.op.c_str(),
                 r.precision.c_str(), r.kernel.c_str(), r.ms, r.percent, r.gmacs, r.fused.c_str());
  }
  std::fprintf(f, "total node time per run: %.3f ms over %zu runs\n", total, runs_);
}

void Profiler::write_trace(const std::string& path) const {
  std::ofstream f(path);
  if (!f) throw Error(path + ": cannot write the trace file");
  auto reports = plan_.describe();
  auto esc = [](const std::string& s) {
    std::string r;
    for (char c : s) {
      if (c == '"' || c == '\\') r += '\\';
      r += c;
    }
    return r;
  };
  f << "{\"traceEvents\": [";
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    const NodeReport& r = reports[e.step];
    char buf[128];
    std::snprintf(buf, sizeof buf, "\"ts\": %.3f, \"dur\": %.3f", e.start_us, e.dur_us);
    f << (i ? ",\n" : "\n") << "{\"name\": \"" << esc(r.name) << "\", \"cat\": \"" << esc(r.op)
      << "\", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, " << buf << ", \"args\": {\"kernel\": \"" << esc(r.kernel)
      << "\", \"fused\": \"" << esc(r.fused) << "\", \"precision\": \"" << esc(r.precision) << "\"}}";
  }
  f << "\n], \"displayTimeUnit\": \"ms\"}\n";
  if (!f) throw Error(path + ": writing the trace failed");
}

}  // namespace octet
