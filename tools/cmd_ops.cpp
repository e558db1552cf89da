// octet ops [--json]: the operators octet runs - each op's opset range, whether it has an FP32 kernel and how a
// QDQ model runs it in int8. scripts/make_operators_doc.py turns the JSON into docs/operators.md.
#include <cstdio>
#include <string>

#include "engine/kernel.h"
#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

int cmd_ops(int argc, char** argv) {
  Args a(argc, argv, {}, {"--json"});
  if (!a.positional().empty()) throw UsageError("ops takes no arguments");
  const KernelRegistry& reg = KernelRegistry::instance();
  const bool json = a.has("--json");
  std::string out = json ? "[" : "";
  bool first = true;
  for (const KnownOp& op : known_ops()) {
    const bool kernel = reg.find(op.domain, op.op_type) != nullptr;
    const std::string int8 = op.domain.empty() ? int8_form(op.op_type) : "";
    const std::string name = (op.domain.empty() ? "" : op.domain + ".") + op.op_type;
    if (json) {
      out += std::string(first ? "" : ",\n ") + "{\"domain\": " + json_string(op.domain) +
             ", \"op\": " + json_string(op.op_type) + ", \"min_opset\": " + std::to_string(op.min_opset) +
             ", \"max_opset\": " + std::to_string(op.max_opset) + ", \"kernel\": " + (kernel ? "true" : "false") +
             ", \"int8\": " + json_string(int8) + "}";
    } else {
      char line[512];
      std::snprintf(line, sizeof line, "%-32s %3lld-%-3lld %-9s %s\n", name.c_str(),
                    static_cast<long long>(op.min_opset), static_cast<long long>(op.max_opset),
                    kernel ? "kernel" : "-", int8.c_str());
      out += line;
    }
    first = false;
  }
  if (json) out += "]\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace octet::tools
