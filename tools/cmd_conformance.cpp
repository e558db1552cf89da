// octet conformance CASE_DIR...: ONNX backend test cases (model.onnx + test_data_set_*/{input,output}_N.pb).
// A case passes when every output has the expected dtype and shape and |got - want| <= atol + rtol * |want|
// elementwise (numpy.testing.assert_allclose, as ONNX's own runner), NaN matching NaN.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/session.h"
#include "graph/tensor_proto.h"
#include "kernels/eltwise/half.h"
#include "onnx/onnx.pb.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace fs = std::filesystem;

namespace octet::tools {

namespace {

struct CaseResult {
  std::string name, status, reason;  // status: PASS, FAIL, SKIP
  double max_abs = 0, max_rel = 0;
};

double element(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.as<float>()[i];
    case DType::f64: return t.as<double>()[i];
    case DType::i64: return double(t.as<int64_t>()[i]);
    case DType::i32: return t.as<int32_t>()[i];
    case DType::i16: return t.as<int16_t>()[i];
    case DType::u16: return t.as<uint16_t>()[i];
    case DType::i8: return t.as<int8_t>()[i];
    case DType::u8: case DType::boolean: return t.as<uint8_t>()[i];
    case DType::u32: return t.as<uint32_t>()[i];
    case DType::u64: return double(t.as<uint64_t>()[i]);
    case DType::f16: return kernels::f16_to_f32(t.as<uint16_t>()[i]);
    case DType::bf16: return kernels::bf16_to_f32(t.as<uint16_t>()[i]);
    default: throw Unsupported(std::string("comparing outputs of type ") + dtype_name(t.dtype()));
  }
}

// Compares one output; returns "" when it matches, else why not. Updates max errors.
std::string compare(const Tensor& got, const Tensor& want, double rtol, double atol, CaseResult& r) {
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + dtype_name(got.dtype()) + ", expected " + dtype_name(want.dtype());
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + ", expected " + shape_str(want.shape());
  const bool exact = want.dtype() != DType::f32 && want.dtype() != DType::f64 && want.dtype() != DType::f16 &&
                     want.dtype() != DType::bf16;
  // bfloat16 keeps 8 significant bits: compare it to one bfloat16 ulp (up to 2^-7 relative) at least. ONNX's reference
  // rounded float -> bfloat16 by truncation before 1.14 and to nearest even since; both are within one ulp.
  if (want.dtype() == DType::bf16) rtol = std::max(rtol, 0x1p-7);
  int64_t bad = 0, first_bad = -1;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = element(got, i), w = element(want, i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    double d = std::fabs(g - w);
    r.max_abs = std::max(r.max_abs, d);
    if (w != 0) r.max_rel = std::max(r.max_rel, d / std::fabs(w));
    bool ok = exact ? g == w : d <= atol + rtol * std::fabs(w);
    if (!ok && bad++ == 0) first_bad = i;
  }
  if (bad == 0) return "";
  std::ostringstream s;
  s << bad << " of " << want.numel() << " values differ; first at " << first_bad << ": got "
    << element(got, first_bad) << ", expected " << element(want, first_bad);
  return s.str();
}

std::vector<std::string> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> files;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.size() > 3 && n.substr(n.size() - 3) == ".pb")
      files.emplace_back(std::atoi(n.c_str() + prefix.size()), e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> r;
  for (auto& f : files) r.push_back(f.second);
  return r;
}

// The op types of a model file, read straight from the protobuf (works even for models octet cannot load).
std::set<std::string> model_ops(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  onnx::ModelProto m;
  std::set<std::string> ops;
  if (!m.ParseFromString(bytes)) return ops;
  for (const auto& n : m.graph().node()) ops.insert(n.op_type());
  return ops;
}

// The declared element type and static dims (-1 = symbolic) of a model's graph inputs that are not initializers.
struct DeclaredInput {
  int32_t elem_type = 0;
  std::vector<int64_t> dims;
  bool has_shape = false;
};
std::vector<DeclaredInput> declared_inputs(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  onnx::ModelProto m;
  std::vector<DeclaredInput> r;
  if (!m.ParseFromString(bytes)) return r;
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  for (const auto& in : m.graph().input()) {
    if (inits.count(in.name()) || !in.type().has_tensor_type()) continue;
    DeclaredInput d;
    d.elem_type = in.type().tensor_type().elem_type();
    d.has_shape = in.type().tensor_type().has_shape();
    for (const auto& dim : in.type().tensor_type().shape().dim()) d.dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    r.push_back(d);
  }
  return r;
}

// numpy has no bfloat16, so ONNX's test data stores bfloat16 tensors as uint16 with the same bits: read them as
// the bfloat16 the model declares (or, for an expected output, the bfloat16 octet produced).
Tensor as_bf16(const Tensor& t) {
  Tensor r(DType::bf16, t.shape());
  std::memcpy(r.data(), t.data(), t.bytes());
  return r;
}

/// Why the test data cannot be fed to the model as the model declares it (a defect of the case), or "".
std::string data_contradicts_model(const std::vector<DeclaredInput>& decl, const std::vector<Tensor>& inputs) {
  for (size_t i = 0; i < decl.size() && i < inputs.size(); ++i) {
    const DeclaredInput& d = decl[i];
    if (!d.has_shape) continue;
    bool same = d.dims.size() == inputs[i].shape().size();
    for (size_t k = 0; same && k < d.dims.size(); ++k) same = d.dims[k] < 0 || d.dims[k] == inputs[i].shape()[k];
    if (!same)
      return "the test data contradicts the model: input " + std::to_string(i) + " is declared with " +
             std::to_string(d.dims.size()) + " dims " + shape_str(d.dims) + " but its data has shape " +
             shape_str(inputs[i].shape()) + " (a defect of this ONNX test case)";
  }
  return "";
}

CaseResult run_case(const fs::path& dir, double rtol, double atol, int threads) {
  CaseResult r;
  r.name = (dir.has_filename() ? dir : dir.parent_path()).filename().string();  // "case/" names "case"
  try {
    SessionOptions opt;
    opt.threads = threads;
    auto session = Session::load((dir / "model.onnx").string(), opt);
    std::vector<fs::path> sets;
    for (auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) throw Error(dir.string() + ": no test_data_set_* folder");
    const std::vector<DeclaredInput> decl = declared_inputs((dir / "model.onnx").string());
    for (const fs::path& set : sets) {
      std::vector<Tensor> inputs;
      for (const std::string& f : sorted_files(set, "input_")) {
        Tensor t = read_tensor_pb(f);
        const size_t i = inputs.size();
        if (t.dtype() == DType::u16 && i < decl.size() && decl[i].elem_type == int32_t(DType::bf16)) t = as_bf16(t);
        inputs.push_back(std::move(t));
      }
      if (std::string why = data_contradicts_model(decl, inputs); !why.empty()) {
        r.status = "SKIP";
        r.reason = set.filename().string() + ": " + why;
        return r;
      }
      std::vector<TensorView> views;
      for (const Tensor& t : inputs) views.push_back(t.view());
      std::vector<Tensor> outs = session->run(views);
      std::vector<std::string> want_files = sorted_files(set, "output_");
      if (want_files.size() != outs.size())
        throw Error("the model has " + std::to_string(outs.size()) + " outputs, the test data " +
                    std::to_string(want_files.size()));
      for (size_t i = 0; i < outs.size(); ++i) {
        Tensor want = read_tensor_pb(want_files[i]);
        if (want.dtype() == DType::u16 && outs[i].dtype() == DType::bf16) want = as_bf16(want);
        std::string why = compare(outs[i], want, rtol, atol, r);
        if (!why.empty()) {
          r.status = "FAIL";
          r.reason = set.filename().string() + " output " + std::to_string(i) + ": " + why;
          return r;
        }
      }
    }
    r.status = "PASS";
  } catch (const Unsupported& e) {
    r.status = "SKIP";
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.status = "FAIL";
    r.reason = e.what();
  }
  return r;
}

}  // namespace

int cmd_conformance(int argc, char** argv) {
  Args a(argc, argv, {"--rtol", "--atol", "--json", "--only-ops", "--threads"}, {"--quiet"});
  if (a.positional().empty()) throw UsageError("conformance needs at least one CASE_DIR");
  const double rtol = a.get_double("--rtol", 1e-3), atol = a.get_double("--atol", 1e-7);
  const int threads = a.get_int("--threads", 1);
  std::set<std::string> only;
  if (a.has("--only-ops")) {
    std::stringstream ss(a.get("--only-ops"));
    for (std::string op; std::getline(ss, op, ',');) only.insert(op);
  }
  std::vector<CaseResult> results;
  int passed = 0, failed = 0, skipped = 0;
  for (const std::string& d : a.positional()) {
    fs::path dir(d);
    if (!fs::exists(dir / "model.onnx")) throw Error(d + ": not a test case folder (no model.onnx)");
    if (!only.empty()) {
      std::set<std::string> ops = model_ops((dir / "model.onnx").string());
      if (ops.empty() || !std::includes(only.begin(), only.end(), ops.begin(), ops.end())) continue;
    }
    CaseResult r = run_case(dir, rtol, atol, threads);
    if (r.status == "PASS") ++passed;
    else if (r.status == "FAIL") ++failed;
    else ++skipped;
    if (!a.has("--quiet") || r.status != "PASS") {
      std::printf("%-4s %s", r.status.c_str(), r.name.c_str());
      if (r.status == "PASS") std::printf("  (max abs %.3g, max rel %.3g)", r.max_abs, r.max_rel);
      if (!r.reason.empty()) std::printf("  %s", r.reason.c_str());
      std::printf("\n");
    }
    results.push_back(std::move(r));
  }
  if (a.has("--json")) {
    std::ofstream f(a.get("--json"));
    if (!f) throw Error(a.get("--json") + ": cannot write");
    f << "{\"passed\": " << passed << ", \"failed\": " << failed << ", \"skipped\": " << skipped << ", \"cases\": [";
    for (size_t i = 0; i < results.size(); ++i) {
      const CaseResult& r = results[i];
      f << (i ? ",\n  " : "\n  ") << "{\"name\": " << json_string(r.name) << ", \"status\": \"" << r.status
        << "\", \"reason\": " << json_string(r.reason) << ", \"max_abs\": " << json_number(r.max_abs)
        << ", \"max_rel\": " << json_number(r.max_rel) << "}";
    }
    f << "\n]}\n";
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}

}  // namespace octet::tools
