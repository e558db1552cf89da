// The subcommands of `octet`. Each returns the process exit status: 0 success, 1 bad input or failure.
// They throw UsageError for bad usage (exit 2) and octet::Error for bad input (exit 1).
#pragma once

namespace octet::tools {

int cmd_infer(int argc, char** argv);        // tools/cmd_infer.cpp
int cmd_eval(int argc, char** argv);         // tools/cmd_eval.cpp
int cmd_run(int argc, char** argv);          // tools/cmd_run.cpp
int cmd_conformance(int argc, char** argv);  // tools/cmd_conformance.cpp
int cmd_bench(int argc, char** argv);        // tools/cmd_bench.cpp
int cmd_inspect(int argc, char** argv);      // tools/cmd_inspect.cpp
int cmd_quantize(int argc, char** argv);     // tools/cmd_quantize.cpp
int cmd_ops(int argc, char** argv);          // tools/cmd_ops.cpp

}  // namespace octet::tools
