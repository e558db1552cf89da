// `octet` and its second name `infer`: parse the subcommand, map exceptions to exit codes.
//   0 success, 1 bad input or failure, 2 bad usage.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "graph/error.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace {

const char* kHelp =
    "octet " OCTET_VERSION " - INT8/FP32 inference for ONNX vision models\n"
    "\n"
    "usage: octet <command> [options]\n"
    "\n"
    "commands:\n"
    "  infer MODEL IMAGE... [--top K] [--labels FILE] [--threads N] [--json] [--mask OUT.png] [--save DIR]\n"
    "        [--resize S] [--no-crop] [--mean a,b,c] [--std a,b,c] [--shape NAME=DxD...]\n"
    "                         run images (JPEG/PNG) and report by the output's kind (docs/infer.md):\n"
    "                         class scores [N,K]: the top K; a segmentation map [N,C,H,W]: the share of\n"
    "                         pixels per class, --mask writes the argmax as a PASCAL VOC colour PNG at the\n"
    "                         image's size; anything else: each output's shape, min/max/mean/std/argmax.\n"
    "                         --save DIR writes every output as DIR/<output name>.pb. With several images\n"
    "                         each file gets the image's stem before its extension (OUT.<stem>.png).\n"
    "                         A model with a symbolic H/W runs each image at its own size (--resize S sets\n"
    "                         the shorter side; no crop). `infer` is a second name for this command\n"
    "  run MODEL INPUT.pb... -o DIR [--threads N] [--shape NAME=DxD...]\n"
    "                         run on TensorProto inputs, write DIR/output_N.pb\n"
    "  conformance CASE_DIR... [--rtol R] [--atol A] [--json FILE]\n"
    "                         run ONNX backend test cases (model.onnx + test_data_set_*)\n"
    "  eval MODEL DATASET_DIR [infer's preprocessing flags]\n"
    "                         top-1/top-5 over an image folder (one subfolder per class)\n"
    "  bench MODEL [--scenario singlestream|offline|server] [--threads N] [--batch B] [--seconds S]\n"
    "        [--iterations N] [--warmup S] [--qps Q] [--latency-ms L] [--profile TRACE.json] [--shape ...] [--json]\n"
    "                         latency (p50/p90/p99), throughput, create time and peak RSS on generated input;\n"
    "                         --profile writes a Chrome trace and prints a per-layer table\n"
    "  inspect MODEL [--shape ...]  the graph after passes, with the kernel of each node\n"
    "  quantize MODEL --calib DIR -o OUT.onnx [--method minmax|percentile|entropy|mse] [--percentile P]\n"
    "        [--exclude NODE,...] [--table FILE] [--samples N] [--weight-bits 8|7] [infer's preprocessing flags]\n"
    "  quantize MODEL --from-table FILE -o OUT.onnx [--exclude NODE,...] [--weight-bits 8|7]\n"
    "                         post-training int8 quantization to a QDQ ONNX model (u8 activations, s8\n"
    "                         per-channel weights); DIR holds images or .pb tensors; default --method\n"
    "                         mse (best on the demo model, docs/quantization.md); --percentile 99.99;\n"
    "                         --weight-bits 7 = ORT's reduce_range (exact in ORT's AVX2 int8 kernels)\n"
    "  ops [--json]           the operators octet runs: opsets, FP32 kernel, int8 form (docs/operators.md)\n"
    "\n"
    "options for every command: --help, --version\n"
    "environment: OCTET_MAX_ISA=scalar|avx2|avxvnni|avx512|avx512vnni clamps the kernels' instruction set;\n"
    "             OCTET_BACKEND=onednn runs the int8 convolutions and matmuls on oneDNN (for comparison)\n";

// Debian's oneDNN runs on libgomp, which reads its settings when it is loaded, before main(). Without a
// setting, its idle threads spin for a long time after each parallel region and burn the other core.
// If the user set nothing, set a short spin and restart the process once so libgomp sees it.
void configure_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("OCTET_NO_REEXEC")) return;
  setenv("GOMP_SPINCOUNT", "20000", 1);
  setenv("OCTET_NO_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // on failure, carry on with the defaults
}

}  // namespace

int main(int argc, char** argv) {
  configure_openmp(argv);
  std::string self = argv[0];
  std::string base = self.substr(self.find_last_of('/') + 1);
  int first = 1;
  std::string cmd;
  if (base == "infer") {
    cmd = "infer";
  } else {
    if (argc < 2) {
      std::fputs(kHelp, stderr);
      return 2;
    }
    cmd = argv[1];
    first = 2;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("octet %s\n", OCTET_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  for (int i = first; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kHelp, stdout);
      return 0;
    }
  using namespace octet::tools;
  int (*fn)(int, char**) = nullptr;
  if (cmd == "infer") fn = cmd_infer;
  else if (cmd == "run") fn = cmd_run;
  else if (cmd == "conformance") fn = cmd_conformance;
  else if (cmd == "eval") fn = cmd_eval;
  else if (cmd == "bench") fn = cmd_bench;
  else if (cmd == "inspect") fn = cmd_inspect;
  else if (cmd == "quantize") fn = cmd_quantize;
  else if (cmd == "ops") fn = cmd_ops;
  if (!fn) {
    std::fprintf(stderr, "octet: unknown command '%s' (see octet --help)\n", cmd.c_str());
    return 2;
  }
  try {
    return fn(argc - first, argv + first);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "octet %s: %s (see octet --help)\n", cmd.c_str(), e.what());
    return 2;
  } catch (const octet::Error& e) {
    std::fprintf(stderr, "octet %s: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "octet %s: out of memory\n", cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "octet %s: internal error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
