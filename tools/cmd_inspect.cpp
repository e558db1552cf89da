// octet inspect MODEL: the compiled graph, one line per node with its fused parts, precision, shapes and kernel;
// under a node, a "^" line says why a node of a quantized model stayed float, or that its int8 kernel is a lower
// ISA tier's.
#include <cstdio>
#include <iostream>

#include "engine/plan.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

int cmd_inspect(int argc, char** argv) {
  Args a(argc, argv, {"--threads", "--shape"}, {"--no-optimize"});
  if (a.positional().size() != 1) throw UsageError("inspect needs exactly one MODEL");
  SessionOptions opt = session_options(a);
  opt.optimize = !a.has("--no-optimize");
  auto session = Session::load(a.positional()[0], opt);
  const Graph& m = session->model();
  std::vector<Shape> shapes;
  for (size_t i = 0; i < session->num_inputs(); ++i) shapes.push_back(session->default_input_shape(i));
  std::shared_ptr<Plan> plan_ref = session->plan_for(shapes);
  Plan& plan = *plan_ref;

  std::printf("model    %s (opset %lld, producer '%s')\n", m.path.c_str(), (long long)m.opset(""),
              m.producer.c_str());
  for (size_t i = 0; i < session->num_inputs(); ++i)
    std::printf("input    %s %s %s\n", session->input(i).name.c_str(), dtype_name(session->input(i).dtype),
                shape_str(shapes[i]).c_str());
  std::printf("isa      %s (detected %s), threads %d\n", kernels::isa_name(opt.max_isa),
              kernels::isa_name(kernels::detected_isa()), plan.threads());
  std::printf("nodes    %zu in the model, %zu after passes; arena %.2f MB\n\n", m.nodes.size(), plan.num_steps(),
              double(plan.arena_bytes()) / 1e6);
  std::printf("%-4s %-28s %-18s %-24s %-8s %-34s %s\n", "#", "node", "op", "fused", "prec", "kernel",
              "inputs -> outputs");
  int i = 0;
  for (const NodeReport& r : plan.describe()) {
    std::printf("%-4d %-28s %-18s %-24s %-8s %-34s %s -> %s\n", i++, r.name.c_str(), r.op.c_str(),
                r.fused.empty() ? "-" : r.fused.c_str(), r.precision.c_str(), r.kernel.c_str(), r.in_shapes.c_str(),
                r.out_shapes.c_str());
    if (!r.note.empty()) std::printf("     ^ %s\n", r.note.c_str());
  }
  return 0;
}

}  // namespace octet::tools
