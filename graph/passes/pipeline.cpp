// The pass driver: the fixed pass order, the step limit and the environment switches.
#include <cstdio>
#include <cstdlib>

#include "graph/passes.h"

namespace octet {

const std::vector<PassInfo>& pass_list() {
  // Order matters:
  //  - remove_identity first, so Conv -> Identity -> BN still folds;
  //  - fold_batchnorm before the fusions: BN(act(conv)) cannot fold, act(BN(conv)) can;
  //  - fuse_residual before fuse_activation: relu(conv(x) + b + skip) needs the Add fused first, since a conv
  //    carrying an activation cannot take a residual (relu(conv) + skip != relu(conv + skip));
  //  - eliminate_dead last; its removals can free a value with an unused extra reader, so the driver repeats the
  //    whole list until nothing changes.
  static const std::vector<PassInfo> list = {
      {"remove_identity", pass_remove_identity},   {"fold_batchnorm", pass_fold_batchnorm},
      {"fuse_residual", pass_fuse_residual},       {"fuse_activation", pass_fuse_activation},
      {"fuse_gelu", pass_fuse_gelu},
      {"lower_qdq", pass_lower_qdq},  // after the fusions: a Conv's Relu/residual become its int8 epilogue
      {"eliminate_dead", pass_eliminate_dead},
  };
  return list;
}

namespace {

bool known_pass_name(const std::string& name) {
  for (const PassInfo& p : pass_list())
    if (name == p.name) return true;
  return false;
}

std::string known_pass_names() {
  std::string s;
  for (const PassInfo& p : pass_list()) s += std::string(s.empty() ? "" : ", ") + p.name;
  return s;
}

}  // namespace

PassOptions PassOptions::from_env() {
  PassOptions o;
  if (const char* e = std::getenv("OCTET_PASS_LIMIT"); e && *e) {
    char* end = nullptr;
    long long k = std::strtoll(e, &end, 10);
    if (*end != '\0' || k < 0)
      throw Error(std::string("OCTET_PASS_LIMIT='") + e + "': expected a number of rewrites >= 0");
    o.max_steps = k;
  }
  if (const char* e = std::getenv("OCTET_DISABLE_PASSES"); e && *e) {
    std::string s = e;
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t comma = s.find(',', pos);
      if (comma == std::string::npos) comma = s.size();
      std::string name = s.substr(pos, comma - pos);
      pos = comma + 1;
      if (name.empty()) continue;
      if (!known_pass_name(name))
        throw Error("OCTET_DISABLE_PASSES: unknown pass '" + name + "'; the passes are: " + known_pass_names() +
                    " (the layout pass is switched off by OCTET_LAYOUT=plain)");
      o.disabled.insert(name);
    }
  }
  return o;
}

PassReport optimize(Graph& g, const PassOptions& opt) {
  PassReport r;
  const char* log_env = std::getenv("OCTET_PASS_LOG");
  const bool print = log_env && *log_env && std::string(log_env) != "0";
  auto budget_left = [&] { return opt.max_steps < 0 || r.steps < opt.max_steps; };
  bool changed = true;
  while (changed && !r.limit_reached) {
    changed = false;
    for (const PassInfo& p : pass_list()) {
      if (opt.disabled.count(p.name)) continue;
      while (true) {
        if (!budget_left()) {
          // Report the limit only when a rewrite is actually held back: probe on a copy of the graph.
          Graph probe = g;
          r.limit_reached = p.run(probe, nullptr);
          break;
        }
        std::string note;
        if (!p.run(g, &note)) break;
        ++r.steps;
        changed = true;
        std::string line = "step " + std::to_string(r.steps) + ": " + (note.empty() ? std::string(p.name) : note);
        if (print) std::fprintf(stderr, "octet passes: %s\n", line.c_str());
        r.log.push_back(std::move(line));
      }
      if (r.limit_reached) break;
    }
  }
  if (!opt.disabled.count("lower_qdq")) explain_float_nodes(g);
  g.compact();
  return r;
}

}  // namespace octet
