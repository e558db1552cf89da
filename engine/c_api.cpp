// The C API (include/octet/octet.h) over Session and Plan: handles, status objects and the translation of C++
// exceptions into codes. Nothing here computes; every function catches everything, because an exception must
// never cross a C boundary.
#include "octet/octet.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "engine/c_api_internal.h"
#include "engine/image.h"
#include "engine/plan.h"
#include "engine/session.h"
#include "graph/error.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "kernels/dispatch.h"
#include "quant/calib_table.h"
#include "quant/qdq.h"
#include "quant/quantize.h"

struct octet_quantizer {
  std::unique_ptr<octet::quant::Quantizer> quantizer;
};

struct octet_status {
  octet_code code;
  std::string message;
};

struct octet_options {
  octet::SessionOptions session;
  octet_precision precision = OCTET_PRECISION_FP32;
  std::string calibration_table;
  size_t memory_limit = 0;
  octet_input_observer observer = nullptr;
  void* observer_user = nullptr;
};

struct octet_session {
  std::unique_ptr<octet::Session> session;
  size_t memory_limit = 0;
  octet_input_observer observer = nullptr;
  void* observer_user = nullptr;

  // Shapes set with octet_session_set_input_shape (empty optional: not set). Guarded by shapes_mu.
  std::mutex shapes_mu;
  std::vector<std::optional<octet::Shape>> shapes;

  // Memory limit: bytes of arenas held by runs in flight. A run waits on `budget_freed` until its arena fits.
  std::mutex budget_mu;
  std::condition_variable budget_freed;
  size_t budget_in_use = 0;
};

namespace {

using octet::DType;
using octet::Shape;

// An error the C layer itself detects, with its code (engine errors arrive as octet::Error / Unsupported).
struct ApiError {
  octet_code code;
  std::string message;
};

[[noreturn]] void fail(octet_code code, std::string message) { throw ApiError{code, std::move(message)}; }

// Returned when even allocating a status fails; never freed (octet_status_free skips it).
octet_status g_out_of_memory{OCTET_ERROR_OUT_OF_MEMORY, "octet: out of memory"};

octet_status* make_status(octet_code code, const std::string& message) noexcept {
  try {
    return new octet_status{code, message};
  } catch (...) {
    return &g_out_of_memory;
  }
}

// Runs `f`; maps whatever it throws to a status. Unsupported is tested before Error (it derives from it).
template <class F>
octet_status* guarded(F&& f) noexcept {
  try {
    f();
    return nullptr;
  } catch (const ApiError& e) {
    return make_status(e.code, e.message);
  } catch (const octet::Unsupported& e) {
    return make_status(OCTET_ERROR_UNSUPPORTED, e.what());
  } catch (const octet::Error& e) {
    return make_status(OCTET_ERROR_BAD_INPUT, e.what());
  } catch (const std::bad_alloc&) {
    return make_status(OCTET_ERROR_OUT_OF_MEMORY, "octet: out of memory");
  } catch (const std::exception& e) {
    return make_status(OCTET_ERROR_INTERNAL, std::string("octet: internal error: ") + e.what());
  } catch (...) {
    return make_status(OCTET_ERROR_INTERNAL, "octet: internal error: unknown exception");
  }
}

void require(bool ok, const std::string& what) {
  if (!ok) fail(OCTET_ERROR_INVALID_ARGUMENT, what);
}

const octet::Graph& model(const octet_session* s) { return s->session->model(); }

std::string input_label(const octet_session* s, size_t i) {
  return "input " + std::to_string(i) + " ('" + s->session->input(i).name + "')";
}
std::string output_label(const octet_session* s, size_t i) {
  return "output " + std::to_string(i) + " ('" + s->session->output(i).name + "')";
}

// Fills dtype, rank and shape of a tensor description; data NULL, bytes 0 while any dim is unknown (-1).
void describe(octet_tensor* t, DType dtype, const std::vector<int64_t>& dims, const std::string& what) {
  if (dims.size() > OCTET_MAX_RANK)
    fail(OCTET_ERROR_UNSUPPORTED, what + " has rank " + std::to_string(dims.size()) + "; the C API carries up to " +
                                      std::to_string(OCTET_MAX_RANK) + " dims");
  *t = octet_tensor{};
  t->dtype = static_cast<octet_dtype>(dtype);
  t->rank = int32_t(dims.size());
  bool known = true;
  for (size_t d = 0; d < dims.size(); ++d) {
    t->shape[d] = dims[d];
    known = known && dims[d] >= 0;
  }
  t->bytes = known ? size_t(octet::num_elements(dims)) * octet::dtype_size(dtype) : 0;
}

// The model's declared dims of a value, -1 for symbolic ones; throws when the model gives no rank.
std::vector<int64_t> declared_dims(const octet::Value& v, const std::string& what) {
  if (!v.has_shape)
    throw octet::Error(what + " has no shape in the model (its rank is unknown); set the input shapes with "
                              "octet_session_set_input_shape");
  std::vector<int64_t> dims;
  for (const octet::Dim& d : v.dims) dims.push_back(d.known() ? d.value : -1);
  return dims;
}

// The symbol of a symbolic dim, or NULL.
const char* dim_name(const octet::Value& v, size_t dim) {
  if (!v.has_shape || dim >= v.dims.size() || v.dims[dim].known() || v.dims[dim].symbol.empty()) return nullptr;
  return v.dims[dim].symbol.c_str();
}

// Every input's concrete shape (set, or fully fixed by the model), or nothing if one is still open.
std::optional<std::vector<Shape>> known_input_shapes(octet_session* s) {
  std::vector<Shape> shapes;
  std::lock_guard<std::mutex> l(s->shapes_mu);
  for (size_t i = 0; i < s->session->num_inputs(); ++i) {
    if (s->shapes[i]) {
      shapes.push_back(*s->shapes[i]);
      continue;
    }
    const octet::Value& v = s->session->input(i);
    if (!v.has_shape) return std::nullopt;
    Shape shape;
    for (const octet::Dim& d : v.dims) {
      if (!d.known()) return std::nullopt;
      shape.push_back(d.value);
    }
    shapes.push_back(shape);
  }
  return shapes;
}

// A caller's tensor as an engine view, after checking what can be checked without the model.
octet::TensorView as_view(const octet_tensor& t, const std::string& what) {
  const DType dtype = static_cast<DType>(t.dtype);
  require(octet::dtype_size(dtype) > 0, what + " has dtype " + std::to_string(int(t.dtype)) +
                                            ", not an octet_dtype value");
  require(t.rank >= 0 && t.rank <= OCTET_MAX_RANK,
          what + " has rank " + std::to_string(t.rank) + ", expected 0.." + std::to_string(OCTET_MAX_RANK));
  Shape shape(t.shape, t.shape + t.rank);
  for (int64_t d : shape) require(d >= 0, what + " has shape dim " + std::to_string(d) + ", expected >= 0");
  octet::TensorView v{dtype, shape, octet::Layout::plain, t.data};
  require(t.data || v.bytes() == 0, what + " has no data (data is NULL)");
  require(t.bytes >= v.bytes(), what + " is " + octet::dtype_name(dtype) + " " + octet::shape_str(shape) + ": needs " +
                                    std::to_string(v.bytes()) + " bytes, the buffer has " + std::to_string(t.bytes));
  return v;
}

// Copies a result into the caller's buffer, or into a new one the caller frees with octet_free. `allocated`
// records what this call allocated so a later failure can free it.
void deliver(const octet::Tensor& result, octet_tensor* out, const std::string& what, std::vector<void*>* allocated) {
  const size_t bytes = result.bytes();
  void* dst = out->data;
  const size_t capacity = out->bytes;
  std::vector<int64_t> dims = result.shape();
  if (dst && capacity < bytes)
    fail(OCTET_ERROR_INVALID_ARGUMENT, what + " is " + octet::dtype_name(result.dtype()) + " " +
                                           octet::shape_str(dims) + ": needs " + std::to_string(bytes) +
                                           " bytes, the buffer has " + std::to_string(capacity));
  if (!dst) {
    dst = octet::aligned_alloc64(std::max<size_t>(bytes, 1));
    allocated->push_back(dst);
  }
  if (bytes) std::memcpy(dst, result.data(), bytes);
  describe(out, result.dtype(), dims, what);
  out->data = dst;
}

void check_session(const octet_session* s) { require(s && s->session, "the session is NULL"); }
void check_out(const void* out, const char* fn) { require(out, std::string(fn) + ": the output pointer is NULL"); }

// ---- image preprocessing, as `octet infer` does it without flags (both read engine/image.h's metadata rule) ----

struct ImageGeometry {
  int channels, height, width;
};

// C, H, W of image input `index`: a float32 NCHW input whose C (1 or 3), H and W are known.
ImageGeometry image_geometry(octet_session* s, size_t index) {
  require(index < s->session->num_inputs(), "octet_image_load: input index " + std::to_string(index) +
                                                " is out of range (the model has " +
                                                std::to_string(s->session->num_inputs()) + " inputs)");
  const octet::Graph& g = model(s);
  const octet::Value& v = s->session->input(index);
  const std::string what = g.path + ": " + input_label(s, index);
  if (v.dtype != DType::f32)
    throw octet::Error(what + " is " + octet::dtype_name(v.dtype) + ", expected float32 images");
  std::optional<Shape> set;
  {
    std::lock_guard<std::mutex> l(s->shapes_mu);
    set = s->shapes[index];
  }
  const std::vector<int64_t> dims = set ? *set : declared_dims(v, what);
  if (dims.size() != 4)
    throw octet::Error(what + " has rank " + std::to_string(dims.size()) + ", expected an NCHW image input (rank 4)");
  for (int d = 1; d < 4; ++d)
    if (dims[size_t(d)] < 0)
      throw octet::Error(what + " dim " + std::to_string(d) +
                         " is not fixed by the model; set it with octet_session_set_input_shape");
  if (dims[1] != 1 && dims[1] != 3)
    throw octet::Error(what + " has " + std::to_string(dims[1]) + " channels; images give 1 (gray) or 3 (RGB)");
  if (dims[2] < 1 || dims[3] < 1 || dims[2] > 1 << 16 || dims[3] > 1 << 16)
    throw octet::Error(what + " has shape " + octet::shape_str(dims) + ", not an image size");
  return {int(dims[1]), int(dims[2]), int(dims[3])};
}

template <class Decode>
octet_status* image_to_tensor(octet_session* s, size_t index, octet_tensor* out, const char* fn, Decode&& decode) {
  return guarded([&] {
    check_session(s);
    check_out(out, fn);
    const ImageGeometry geo = image_geometry(s, index);
    octet::Tensor t = decode(geo, octet::image_options_from_metadata(model(s), geo.channels));
    std::vector<void*> allocated;
    deliver(t, out, std::string(fn) + ": the image tensor", &allocated);
  });
}

// ---- memory limit ----

// Holds `bytes` of the session's budget for one run; waits until they fit. Throws when they never can.
class BudgetLease {
 public:
  BudgetLease(octet_session* s, size_t bytes) : s_(s), bytes_(s->memory_limit ? bytes : 0) {
    if (!s->memory_limit) return;
    if (bytes > s->memory_limit)
      fail(OCTET_ERROR_OUT_OF_MEMORY, model(s).path + ": one run needs " + std::to_string(bytes) +
                                          " bytes of activations and workspace, the session's memory limit is " +
                                          std::to_string(s->memory_limit));
    std::unique_lock<std::mutex> l(s->budget_mu);
    s->budget_freed.wait(l, [&] { return s->budget_in_use + bytes <= s->memory_limit; });
    s->budget_in_use += bytes;
  }
  ~BudgetLease() {
    if (!bytes_) return;
    {
      std::lock_guard<std::mutex> l(s_->budget_mu);
      s_->budget_in_use -= bytes_;
    }
    s_->budget_freed.notify_all();
  }
  BudgetLease(const BudgetLease&) = delete;
  BudgetLease& operator=(const BudgetLease&) = delete;

 private:
  octet_session* s_;
  size_t bytes_;
};

// INT8 at load: the model quantized as `octet quantize --from-table` does it (tools/cmd_quantize.cpp), kept in
// memory. The QDQ graph is serialized and read back so the session sees exactly what loading the file that
// command writes would give (the importer's QDQ handling included); octet's lower_qdq pass then fuses the
// Q/DQ pairs into int8 kernels (QConv, QGemm, ...). Table entries that name no quantized tensor are ignored, as
// the command ignores them; a tensor the model quantizes with no entry is an error naming it.
octet::Graph quantize_from_table(const octet::Graph& model, const std::string& table_path) {
  const octet::quant::Quantizer q(model);
  const octet::Graph qdq = q.apply(octet::quant::read_table(table_path), "table " + table_path, table_path);
  const std::string bytes = octet::export_onnx_bytes(qdq);
  std::string base = std::filesystem::path(model.path).parent_path().string();
  return octet::load_onnx_buffer(bytes.data(), bytes.size(), model.path + " (int8, table " + table_path + ")",
                                 base);
}

octet_status* create_session(const octet_options* options, octet_session** out,
                             const std::function<octet::Graph()>& load) {
  return guarded([&] {
    check_out(out, "octet_session_create");
    *out = nullptr;
    octet_options defaults;
    const octet_options& o = options ? *options : defaults;
    if (o.precision == OCTET_PRECISION_INT8)
      require(!o.calibration_table.empty(),
              "octet_options_set_precision: OCTET_PRECISION_INT8 needs a calibration table: set one with "
              "octet_options_set_calibration_table (make one with `octet quantize MODEL --calib DIR --table FILE`)");
    else
      require(o.calibration_table.empty(),
              "octet_options_set_calibration_table: a calibration table is used only with OCTET_PRECISION_INT8");
    auto s = std::make_unique<octet_session>();
    octet::Graph g = load();
    if (o.precision == OCTET_PRECISION_INT8) g = quantize_from_table(g, o.calibration_table);
    s->session = std::make_unique<octet::Session>(std::move(g), o.session);
    s->memory_limit = o.memory_limit;
    s->observer = o.observer;
    s->observer_user = o.observer_user;
    s->shapes.resize(s->session->num_inputs());
    *out = s.release();
  });
}

}  // namespace

octet::Session& octet::engine_session(octet_session* session) {
  check_session(session);
  return *session->session;
}

extern "C" {

OCTET_API const char* octet_version(void) { return OCTET_VERSION; }

OCTET_API octet_code octet_status_code(const octet_status* status) { return status ? status->code : OCTET_OK; }

OCTET_API const char* octet_status_message(const octet_status* status) {
  return status ? status->message.c_str() : "";
}

OCTET_API void octet_status_free(octet_status* status) {
  if (status != &g_out_of_memory) delete status;
}

OCTET_API size_t octet_dtype_size(octet_dtype dtype) { return octet::dtype_size(static_cast<DType>(dtype)); }

OCTET_API void octet_free(void* data) { octet::aligned_free64(data); }

// ---- options ----

OCTET_API octet_status* octet_options_create(octet_options** out) {
  return guarded([&] {
    check_out(out, "octet_options_create");
    *out = new octet_options();
  });
}

OCTET_API void octet_options_destroy(octet_options* options) { delete options; }

OCTET_API octet_status* octet_options_set_threads(octet_options* options, int threads) {
  return guarded([&] {
    require(options, "octet_options_set_threads: options is NULL");
    require(threads >= 0, "octet_options_set_threads: threads is " + std::to_string(threads) +
                              ", expected 0 (the cores available) or more");
    options->session.threads = threads;
  });
}

OCTET_API octet_status* octet_options_set_shared_pool(octet_options* options, int shared) {
  return guarded([&] {
    require(options, "octet_options_set_shared_pool: options is NULL");
    options->session.shared_pool = shared != 0;
  });
}

OCTET_API octet_status* octet_options_set_precision(octet_options* options, octet_precision precision) {
  return guarded([&] {
    require(options, "octet_options_set_precision: options is NULL");
    require(precision == OCTET_PRECISION_FP32 || precision == OCTET_PRECISION_INT8,
            "octet_options_set_precision: precision " + std::to_string(int(precision)) +
                " is neither OCTET_PRECISION_FP32 nor OCTET_PRECISION_INT8");
    options->precision = precision;
  });
}

OCTET_API octet_status* octet_options_set_calibration_table(octet_options* options, const char* path) {
  return guarded([&] {
    require(options, "octet_options_set_calibration_table: options is NULL");
    options->calibration_table = path ? path : "";
  });
}

OCTET_API octet_status* octet_options_set_max_isa(octet_options* options, const char* isa) {
  return guarded([&] {
    require(options, "octet_options_set_max_isa: options is NULL");
    octet::kernels::Isa parsed;
    require(isa && octet::kernels::parse_isa(isa, &parsed),
            std::string("octet_options_set_max_isa: '") + (isa ? isa : "(null)") +
                "' is not an ISA tier; expected scalar, avx2, avxvnni, avx512 or avx512vnni");
    options->session.max_isa = octet::kernels::clamp_isa(octet::kernels::max_isa(), parsed);
  });
}

OCTET_API octet_status* octet_options_set_memory_limit(octet_options* options, size_t bytes) {
  return guarded([&] {
    require(options, "octet_options_set_memory_limit: options is NULL");
    options->memory_limit = bytes;
  });
}

OCTET_API octet_status* octet_options_set_max_cached_plans(octet_options* options, size_t count) {
  return guarded([&] {
    require(options, "octet_options_set_max_cached_plans: options is NULL");
    options->session.max_cached_plans = count;
  });
}

OCTET_API octet_status* octet_options_set_input_observer(octet_options* options, octet_input_observer observer,
                                                         void* user) {
  return guarded([&] {
    require(options, "octet_options_set_input_observer: options is NULL");
    options->observer = observer;
    options->observer_user = user;
  });
}

// ---- session ----

OCTET_API octet_status* octet_session_create(const char* model_path, const octet_options* options,
                                             octet_session** out) {
  if (out) *out = nullptr;
  if (!model_path) return make_status(OCTET_ERROR_INVALID_ARGUMENT, "octet_session_create: model_path is NULL");
  return create_session(options, out, [&] { return octet::load_onnx(model_path); });
}

OCTET_API octet_status* octet_session_create_from_memory(const void* data, size_t size, const octet_options* options,
                                                         octet_session** out) {
  if (out) *out = nullptr;
  if (!data && size)
    return make_status(OCTET_ERROR_INVALID_ARGUMENT, "octet_session_create_from_memory: data is NULL");
  // No base folder: a model that names external data files is refused by the loader.
  return create_session(options, out, [&] { return octet::load_onnx_buffer(data, size, "<memory>", ""); });
}

OCTET_API void octet_session_destroy(octet_session* session) { delete session; }

OCTET_API size_t octet_session_input_count(const octet_session* session) {
  return session ? session->session->num_inputs() : 0;
}

OCTET_API size_t octet_session_output_count(const octet_session* session) {
  return session ? session->session->num_outputs() : 0;
}

OCTET_API const char* octet_session_input_name(const octet_session* session, size_t index) {
  if (!session || index >= session->session->num_inputs()) return nullptr;
  return session->session->input(index).name.c_str();
}

OCTET_API const char* octet_session_output_name(const octet_session* session, size_t index) {
  if (!session || index >= session->session->num_outputs()) return nullptr;
  return session->session->output(index).name.c_str();
}

OCTET_API int64_t octet_session_input_index(const octet_session* session, const char* name) {
  if (!session || !name) return -1;
  for (size_t i = 0; i < session->session->num_inputs(); ++i)
    if (session->session->input(i).name == name) return int64_t(i);
  return -1;
}

OCTET_API int64_t octet_session_output_index(const octet_session* session, const char* name) {
  if (!session || !name) return -1;
  for (size_t i = 0; i < session->session->num_outputs(); ++i)
    if (session->session->output(i).name == name) return int64_t(i);
  return -1;
}

OCTET_API octet_status* octet_session_input_info(octet_session* session, size_t index, octet_tensor* info) {
  return guarded([&] {
    check_session(session);
    check_out(info, "octet_session_input_info");
    const size_t n = session->session->num_inputs();
    require(index < n, "octet_session_input_info: index " + std::to_string(index) + " is out of range (the model has " +
                           std::to_string(n) + " inputs)");
    const octet::Value& v = session->session->input(index);
    const std::string what = model(session).path + ": " + input_label(session, index);
    std::optional<Shape> set;
    {
      std::lock_guard<std::mutex> l(session->shapes_mu);
      set = session->shapes[index];
    }
    describe(info, v.dtype, set ? *set : declared_dims(v, what), what);
  });
}

OCTET_API octet_status* octet_session_output_info(octet_session* session, size_t index, octet_tensor* info) {
  return guarded([&] {
    check_session(session);
    check_out(info, "octet_session_output_info");
    const size_t n = session->session->num_outputs();
    require(index < n, "octet_session_output_info: index " + std::to_string(index) +
                           " is out of range (the model has " + std::to_string(n) + " outputs)");
    const std::string what = model(session).path + ": " + output_label(session, index);
    bool shape_operands = false;
    for (size_t i = 0; i < session->session->num_inputs(); ++i) shape_operands |= session->session->shape_input(i);
    // A model with shape-operand inputs compiles per input value, which a query does not have.
    if (auto shapes = known_input_shapes(session); shapes && !shape_operands) {
      std::shared_ptr<octet::Plan> plan = session->session->plan_for(*shapes);
      const octet::Value& v = plan->graph().values[size_t(plan->graph().outputs[index])];
      describe(info, v.dtype, v.shape(), what);
      return;
    }
    const octet::Value& v = session->session->output(index);
    describe(info, v.dtype, declared_dims(v, what), what);
  });
}

OCTET_API const char* octet_session_input_dim_name(const octet_session* session, size_t index, size_t dim) {
  if (!session || index >= session->session->num_inputs()) return nullptr;
  return dim_name(session->session->input(index), dim);
}

OCTET_API const char* octet_session_output_dim_name(const octet_session* session, size_t index, size_t dim) {
  if (!session || index >= session->session->num_outputs()) return nullptr;
  return dim_name(session->session->output(index), dim);
}

OCTET_API octet_status* octet_session_set_input_shape(octet_session* session, size_t index, const int64_t* shape,
                                                      size_t rank) {
  return guarded([&] {
    check_session(session);
    const size_t n = session->session->num_inputs();
    require(index < n, "octet_session_set_input_shape: index " + std::to_string(index) +
                           " is out of range (the model has " + std::to_string(n) + " inputs)");
    require(shape || rank == 0, "octet_session_set_input_shape: shape is NULL");
    require(rank <= OCTET_MAX_RANK, "octet_session_set_input_shape: rank " + std::to_string(rank) +
                                        " is above OCTET_MAX_RANK");
    Shape s(shape, shape + rank);
    for (int64_t d : s)
      require(d >= 0, "octet_session_set_input_shape: " + input_label(session, index) + ": dim " +
                          std::to_string(d) + " is negative");
    // Checked against the model's declared dims here, so the mistake is reported where it is made.
    const octet::Value& v = session->session->input(index);
    bool fits = !v.has_shape || v.dims.size() == s.size();
    for (size_t d = 0; fits && v.has_shape && d < s.size(); ++d)
      fits = !v.dims[d].known() || v.dims[d].value == s[d];
    if (!fits) {
      std::string want;
      for (size_t d = 0; d < v.dims.size(); ++d)
        want += (d ? "x" : "") + (v.dims[d].known() ? std::to_string(v.dims[d].value) : v.dims[d].symbol);
      throw octet::Error(model(session).path + ": input '" + v.name + "' expects shape " +
                         (want.empty() ? "scalar" : want) + ", got " + octet::shape_str(s));
    }
    {
      std::lock_guard<std::mutex> l(session->shapes_mu);
      session->shapes[index] = s;
    }
    bool shape_operands = false;
    for (size_t i = 0; i < n; ++i) shape_operands |= session->session->shape_input(i);
    if (auto shapes = known_input_shapes(session); shapes && !shape_operands) session->session->plan_for(*shapes);
  });
}

OCTET_API const char* octet_session_metadata(const octet_session* session, const char* key) {
  if (!session || !key) return nullptr;
  const auto& meta = session->session->model().metadata;
  auto it = meta.find(key);
  return it == meta.end() ? nullptr : it->second.c_str();
}

OCTET_API octet_status* octet_session_run(octet_session* session, const octet_tensor* inputs, size_t num_inputs,
                                          octet_tensor* outputs, size_t num_outputs) {
  std::vector<void*> allocated;
  octet_status* st = guarded([&] {
    check_session(session);
    octet::Session& s = *session->session;
    require(num_inputs == s.num_inputs(), "octet_session_run: got " + std::to_string(num_inputs) +
                                              " inputs, the model has " + std::to_string(s.num_inputs()));
    require(num_outputs == s.num_outputs(), "octet_session_run: got " + std::to_string(num_outputs) +
                                                " outputs, the model has " + std::to_string(s.num_outputs()));
    require(inputs || num_inputs == 0, "octet_session_run: inputs is NULL");
    require(outputs || num_outputs == 0, "octet_session_run: outputs is NULL");
    std::vector<octet::TensorView> views;
    std::vector<Shape> shapes;
    for (size_t i = 0; i < num_inputs; ++i) {
      views.push_back(as_view(inputs[i], "octet_session_run: " + input_label(session, i)));
      shapes.push_back(views.back().shape);
    }
    std::shared_ptr<octet::Plan> plan_ref = s.plan_for(shapes, views);
    octet::Plan& plan = *plan_ref;  // plan_ref keeps it alive if another thread's new shape evicts it
    // The caller's output buffers are checked before the run, so a too-small one costs no inference.
    const octet::Graph& g = plan.graph();
    for (size_t i = 0; i < num_outputs; ++i) {
      const octet::Value& v = g.values[size_t(g.outputs[i])];
      const size_t need = v.bytes_hint();
      if (outputs[i].data && outputs[i].bytes < need)
        fail(OCTET_ERROR_INVALID_ARGUMENT, "octet_session_run: " + output_label(session, i) + " is " +
                                               octet::dtype_name(v.dtype) + " " + octet::shape_str(v.shape()) +
                                               ": needs " + std::to_string(need) + " bytes, the buffer has " +
                                               std::to_string(outputs[i].bytes));
    }
    // Each output goes once from the arena into its final buffer: the caller's, or one allocated here.
    std::vector<octet::TensorView> out_views;
    for (size_t i = 0; i < num_outputs; ++i) {
      const octet::Value& v = g.values[size_t(g.outputs[i])];
      void* dst = outputs[i].data;
      if (!dst) {
        dst = octet::aligned_alloc64(std::max<size_t>(v.bytes_hint(), 1));
        allocated.push_back(dst);
        outputs[i].data = dst;
      }
      out_views.push_back(octet::TensorView{v.dtype, v.shape(), octet::Layout::plain, dst});
    }
    if (session->observer)
      for (size_t i = 0; i < views.size(); ++i)
        session->observer(session->observer_user, i, views[i].data, views[i].bytes());
    {
      BudgetLease lease(session, plan.arena_bytes());
      plan.run_into(views, out_views);
    }
    for (size_t i = 0; i < num_outputs; ++i) {
      void* dst = outputs[i].data;
      describe(&outputs[i], out_views[i].dtype, out_views[i].shape, "octet_session_run: " + output_label(session, i));
      outputs[i].data = dst;
    }
  });
  if (st) {
    for (size_t i = 0; i < num_outputs && outputs; ++i)
      if (std::find(allocated.begin(), allocated.end(), outputs[i].data) != allocated.end()) outputs[i].data = nullptr;
    for (void* p : allocated) octet::aligned_free64(p);
  }
  return st;
}

OCTET_API octet_status* octet_image_load(octet_session* session, size_t index, const char* path, octet_tensor* out) {
  if (!path) return make_status(OCTET_ERROR_INVALID_ARGUMENT, "octet_image_load: path is NULL");
  return image_to_tensor(session, index, out, "octet_image_load", [&](ImageGeometry geo, octet::ImageOptions opt) {
    return octet::load_image(path, geo.channels, geo.height, geo.width, opt);
  });
}

OCTET_API octet_status* octet_image_decode(octet_session* session, size_t index, const void* data, size_t size,
                                           octet_tensor* out) {
  if (!data && size) return make_status(OCTET_ERROR_INVALID_ARGUMENT, "octet_image_decode: data is NULL");
  return image_to_tensor(session, index, out, "octet_image_decode", [&](ImageGeometry geo, octet::ImageOptions opt) {
    return octet::decode_image(data, size, "<image in memory>", geo.channels, geo.height, geo.width, opt);
  });
}

// ---- inspection ----

OCTET_API octet_status* octet_session_describe(octet_session* session, octet_node_info** nodes, size_t* count) {
  return guarded([&] {
    check_session(session);
    check_out(nodes, "octet_session_describe");
    check_out(count, "octet_session_describe");
    *nodes = nullptr;
    *count = 0;
    std::vector<Shape> shapes;
    {
      std::lock_guard<std::mutex> l(session->shapes_mu);
      for (size_t i = 0; i < session->session->num_inputs(); ++i)
        shapes.push_back(session->shapes[i] ? *session->shapes[i] : session->session->default_input_shape(i));
    }
    const std::vector<octet::NodeReport> reports = session->session->describe(shapes);
    // One buffer: the entries, then every string with its terminator, so one octet_free releases it all.
    size_t text = 0;
    auto fields = [](const octet::NodeReport& r) {
      return std::array<const std::string*, 8>{&r.name,   &r.op,        &r.fused,      &r.precision,
                                               &r.kernel, &r.in_shapes, &r.out_shapes, &r.note};
    };
    for (const octet::NodeReport& r : reports)
      for (const std::string* f : fields(r)) text += f->size() + 1;
    const size_t head = reports.size() * sizeof(octet_node_info);
    char* buf = static_cast<char*>(octet::aligned_alloc64(std::max<size_t>(head + text, 1)));
    auto* info = reinterpret_cast<octet_node_info*>(buf);
    char* p = buf + head;
    for (size_t n = 0; n < reports.size(); ++n) {
      const char** dst[8] = {&info[n].name,   &info[n].op,     &info[n].fused,   &info[n].precision,
                             &info[n].kernel, &info[n].inputs, &info[n].outputs, &info[n].note};
      const auto src = fields(reports[n]);
      for (size_t f = 0; f < 8; ++f) {
        std::memcpy(p, src[f]->c_str(), src[f]->size() + 1);
        *dst[f] = p;
        p += src[f]->size() + 1;
      }
    }
    *nodes = info;
    *count = reports.size();
  });
}

// ---- quantization ----

OCTET_API octet_status* octet_quantizer_create(const char* model_path, const octet_quantize_options* options,
                                               octet_quantizer** out) {
  if (out) *out = nullptr;
  return guarded([&] {
    check_out(out, "octet_quantizer_create");
    require(model_path, "octet_quantizer_create: model_path is NULL");
    octet::quant::QuantizeOptions o;
    if (options) {
      if (options->method) {
        try {
          o.method = octet::quant::parse_method(options->method);
        } catch (const octet::Error& e) {
          fail(OCTET_ERROR_INVALID_ARGUMENT, std::string("octet_quantizer_create: method: ") + e.what());
        }
      }
      require(options->percentile == 0 || o.method == octet::quant::Method::percentile,
              "octet_quantizer_create: percentile applies to method \"percentile\" only");
      if (options->percentile != 0) o.percentile = options->percentile;
      require(o.percentile > 50 && o.percentile <= 100,
              "octet_quantizer_create: percentile " + std::to_string(o.percentile) + " is not in (50, 100]");
      require(options->samples >= 0, "octet_quantizer_create: samples is negative");
      o.samples = options->samples;
      if (options->weight_bits != 0) o.weight_bits = options->weight_bits;
      require(o.weight_bits == 7 || o.weight_bits == 8, "octet_quantizer_create: weight_bits is " +
                                                            std::to_string(o.weight_bits) + ", expected 7 or 8");
      require(options->exclude || options->num_exclude == 0, "octet_quantizer_create: exclude is NULL");
      for (size_t i = 0; i < options->num_exclude; ++i) {
        require(options->exclude[i], "octet_quantizer_create: exclude[" + std::to_string(i) + "] is NULL");
        o.exclude.insert(options->exclude[i]);
      }
      require(options->threads >= 0, "octet_quantizer_create: threads is negative");
      o.session.threads = options->threads;
    }
    auto q = std::make_unique<octet_quantizer>();
    q->quantizer = std::make_unique<octet::quant::Quantizer>(octet::load_onnx(model_path), std::move(o));
    *out = q.release();
  });
}

OCTET_API void octet_quantizer_destroy(octet_quantizer* quantizer) { delete quantizer; }

OCTET_API octet_status* octet_quantizer_add(octet_quantizer* quantizer, const octet_tensor* batch) {
  return guarded([&] {
    require(quantizer, "octet_quantizer_add: the quantizer is NULL");
    require(batch, "octet_quantizer_add: batch is NULL");
    quantizer->quantizer->add(as_view(*batch, "octet_quantizer_add: the batch"));
  });
}

OCTET_API octet_status* octet_quantizer_add_folder(octet_quantizer* quantizer, const char* dir,
                                                   octet_progress_fn progress, void* user) {
  return guarded([&] {
    require(quantizer, "octet_quantizer_add_folder: the quantizer is NULL");
    require(dir, "octet_quantizer_add_folder: dir is NULL");
    octet::quant::Progress p;
    if (progress) p = [&](int64_t done, int64_t total) { progress(user, done, total); };
    quantizer->quantizer->add_folder(dir, nullptr, p);
  });
}

OCTET_API int64_t octet_quantizer_samples(const octet_quantizer* quantizer) {
  return quantizer ? quantizer->quantizer->samples() : 0;
}

OCTET_API octet_status* octet_quantizer_save(octet_quantizer* quantizer, const char* output_path,
                                             const char* table_path) {
  return guarded([&] {
    require(quantizer, "octet_quantizer_save: the quantizer is NULL");
    require(output_path, "octet_quantizer_save: output_path is NULL");
    const octet::quant::Quantizer& q = *quantizer->quantizer;
    require(q.samples() > 0, "octet_quantizer_save: no calibration sample was added "
                             "(octet_quantizer_add or octet_quantizer_add_folder)");
    const octet::quant::CalibTable table = q.table();
    if (table_path) octet::quant::write_table(table_path, table);
    octet::save_onnx(q.apply(table, q.method_note()), output_path);
  });
}

OCTET_API octet_status* octet_quantizer_save_from_table(octet_quantizer* quantizer, const char* table_path,
                                                        const char* output_path) {
  return guarded([&] {
    require(quantizer, "octet_quantizer_save_from_table: the quantizer is NULL");
    require(table_path, "octet_quantizer_save_from_table: table_path is NULL");
    require(output_path, "octet_quantizer_save_from_table: output_path is NULL");
    const octet::quant::Quantizer& q = *quantizer->quantizer;
    const std::string name = std::filesystem::path(table_path).filename().string();
    octet::save_onnx(q.apply(octet::quant::read_table(table_path), "table " + name, table_path), output_path);
  });
}

}  // extern "C"
