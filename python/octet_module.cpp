// octet._octet: the Python binding, on top of the public API only (include/octet/octet.hpp and, for the run's hot
// path, the C functions it wraps). The package octet/__init__.py re-exports it and adds the pure-Python parts
// (quantize's iteration and progress bar, inspect's dicts, SessionOptions).
//
// Memory: a run's inputs are numpy arrays handed to the engine by pointer when they are C-contiguous, aligned and
// of the input's dtype (the C API never copies inputs); other layouts of the right dtype are made contiguous
// first (one copy, as numpy would); another dtype is an InvalidArgument, as in onnxruntime. Outputs are buffers
// the engine allocated and filled straight from its arena; each becomes an ndarray that owns it (a capsule calls
// octet_free), so no output is copied either.
//
// Threads: run() releases the GIL for the whole inference; the session is immutable after construction and the C
// API allows any number of concurrent runs, so one InferenceSession serves many Python threads.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "octet/octet.hpp"

namespace py = pybind11;

namespace {

// ---- errors -------------------------------------------------------------------------------------------------

// The exception classes, made at import (octet.Error and its subclasses; see the module init below).
struct Errors {
  PyObject* base = nullptr;
  PyObject* invalid_argument = nullptr;
  PyObject* invalid_model = nullptr;
  PyObject* no_such_file = nullptr;
  PyObject* unsupported = nullptr;
  PyObject* out_of_memory = nullptr;
  PyObject* internal = nullptr;
};
Errors g_errors;

// Where a status arose: BAD_INPUT is a bad model while loading, and a bad argument (input shape, image file,
// calibration sample) while using a loaded model.
enum class Stage { load, use };

[[noreturn]] void raise(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

[[noreturn]] void raise_code(octet_code code, const std::string& message, Stage stage) {
  switch (code) {
    case OCTET_ERROR_INVALID_ARGUMENT:
      raise(g_errors.invalid_argument, message);
    case OCTET_ERROR_BAD_INPUT:
      raise(stage == Stage::load ? g_errors.invalid_model : g_errors.invalid_argument, message);
    case OCTET_ERROR_UNSUPPORTED:
      raise(g_errors.unsupported, message);
    case OCTET_ERROR_OUT_OF_MEMORY:
      raise(g_errors.out_of_memory, message);
    default:
      raise(g_errors.internal, message);
  }
}

// Throws the Python exception for a C status (and frees it); nothing for NULL. Call with the GIL held.
void check(octet_status* st, Stage stage) {
  if (!st) return;
  const octet_code code = octet_status_code(st);
  std::string message = octet_status_message(st);
  octet_status_free(st);
  raise_code(code, message, stage);
}

// Runs a C++-layer call, turning octet::Error into the Python hierarchy.
template <class F>
auto guarded(Stage stage, F&& f) {
  try {
    return f();
  } catch (const octet::Error& e) {
    raise_code(e.code(), e.what(), stage);
  }
}

// ---- dtypes -------------------------------------------------------------------------------------------------

// ONNX Runtime's type strings ("tensor(float)"), indexed by octet_dtype (= ONNX's TensorProto codes).
const char* onnx_type_name(octet_dtype t) {
  switch (t) {
    case OCTET_DTYPE_FLOAT32:
      return "tensor(float)";
    case OCTET_DTYPE_UINT8:
      return "tensor(uint8)";
    case OCTET_DTYPE_INT8:
      return "tensor(int8)";
    case OCTET_DTYPE_UINT16:
      return "tensor(uint16)";
    case OCTET_DTYPE_INT16:
      return "tensor(int16)";
    case OCTET_DTYPE_INT32:
      return "tensor(int32)";
    case OCTET_DTYPE_INT64:
      return "tensor(int64)";
    case OCTET_DTYPE_BOOL:
      return "tensor(bool)";
    case OCTET_DTYPE_FLOAT16:
      return "tensor(float16)";
    case OCTET_DTYPE_FLOAT64:
      return "tensor(double)";
    case OCTET_DTYPE_UINT32:
      return "tensor(uint32)";
    case OCTET_DTYPE_UINT64:
      return "tensor(uint64)";
    case OCTET_DTYPE_BFLOAT16:
      return "tensor(bfloat16)";
    default:
      return "tensor(undefined)";
  }
}

// numpy's type number for an octet dtype; -1 when numpy has none (bfloat16).
int numpy_type(octet_dtype t) {
  using N = py::detail::npy_api;
  switch (t) {
    case OCTET_DTYPE_FLOAT32:
      return N::NPY_FLOAT_;
    case OCTET_DTYPE_UINT8:
      return N::NPY_UBYTE_;
    case OCTET_DTYPE_INT8:
      return N::NPY_BYTE_;
    case OCTET_DTYPE_UINT16:
      return N::NPY_USHORT_;
    case OCTET_DTYPE_INT16:
      return N::NPY_SHORT_;
    case OCTET_DTYPE_INT32:
      return N::NPY_INT_;
    case OCTET_DTYPE_INT64:
      return N::NPY_LONGLONG_;
    case OCTET_DTYPE_BOOL:
      return N::NPY_BOOL_;
    case OCTET_DTYPE_FLOAT16:
      return 23;  // NPY_HALF (pybind11 2.10 has no name for it)
    case OCTET_DTYPE_FLOAT64:
      return N::NPY_DOUBLE_;
    case OCTET_DTYPE_UINT32:
      return N::NPY_UINT_;
    case OCTET_DTYPE_UINT64:
      return N::NPY_ULONGLONG_;
    default:
      return -1;
  }
}

// Same element type? numpy has two numbers for 64-bit ints (long, longlong) on LP64: compare kind and size.
bool same_type(const py::dtype& have, int want_num) {
  const int num = have.num();
  if (num == want_num) return true;
  const py::dtype want(want_num);
  return have.kind() == want.kind() && have.itemsize() == want.itemsize() && have.kind() != 'V';
}

// ---- tensor descriptions ------------------------------------------------------------------------------------

// onnxruntime's NodeArg: name, shape (ints; the symbol's name, or None, for a dim the model leaves open), type.
struct NodeArg {
  std::string name;
  py::list shape;
  std::string type;
  std::string repr() const {
    return "NodeArg(name='" + name + "', type='" + type + "', shape=" + py::repr(shape).cast<std::string>() + ")";
  }
};

// What run() needs per input, resolved once.
struct InputSlot {
  std::string name;
  py::str key;  // the feed's key, made once
  octet_dtype dtype;
  int numpy_num;
};

// ---- the session ----------------------------------------------------------------------------------------------

// The addresses the engine read this thread's inputs from in its last run (the input observer's record).
thread_local std::vector<uintptr_t> t_input_addresses;

void record_input(void* /*user*/, size_t index, const void* data, size_t /*bytes*/) {
  if (index == 0) t_input_addresses.clear();
  t_input_addresses.push_back(reinterpret_cast<uintptr_t>(data));
}

int parse_precision(const std::string& p) {
  if (p == "fp32" || p == "float32") return OCTET_PRECISION_FP32;
  if (p == "int8") return OCTET_PRECISION_INT8;
  raise(g_errors.invalid_argument, "octet.InferenceSession: precision '" + p + "' is neither 'fp32' nor 'int8'");
}

class InferenceSession {
 public:
  InferenceSession(const py::object& model, const py::object& sess_options, const py::object& providers,
                   std::optional<int> threads, const std::string& precision,
                   const std::optional<std::string>& calibration_table, const std::optional<std::string>& max_isa,
                   bool trace_inputs) {
    octet::Options o;
    if (!threads && !sess_options.is_none() && py::hasattr(sess_options, "intra_op_num_threads"))
      threads = sess_options.attr("intra_op_num_threads").cast<int>();
    if (threads && *threads < 0)
      raise(g_errors.invalid_argument, "octet.InferenceSession: threads is " + std::to_string(*threads) +
                                           ", expected None or 0 (the cores available) or more");
    o.threads = threads.value_or(0);
    o.precision = octet_precision(parse_precision(precision));
    o.calibration_table = calibration_table.value_or("");
    o.max_isa = max_isa.value_or("");
    if (trace_inputs) o.input_observer = record_input;
    check_providers(providers);
    if (py::isinstance<py::bytes>(model) || py::isinstance<py::bytearray>(model) ||
        py::isinstance<py::memoryview>(model)) {
      py::buffer_info b = py::buffer(model).request();
      const std::span<const std::byte> bytes(static_cast<const std::byte*>(b.ptr), size_t(b.size * b.itemsize));
      session_ =
          guarded(Stage::load, [&] { return std::make_unique<octet::Session>(octet::Session::from_memory(bytes, o)); });
    } else {
      const std::string path = py::module_::import("os").attr("fspath")(model).cast<std::string>();
      if (!py::module_::import("os.path").attr("exists")(path).cast<bool>())
        raise(g_errors.no_such_file, path + ": no such file");
      session_ = guarded(Stage::load, [&] { return std::make_unique<octet::Session>(octet::Session::load(path, o)); });
    }
    describe_io();
  }

  const std::vector<NodeArg>& inputs() const { return inputs_; }
  const std::vector<NodeArg>& outputs() const { return outputs_; }

  py::list run(const py::object& output_names, const py::dict& feed, const py::object& /*run_options*/) {
    octet_session* s = session_->get();
    const size_t n_in = slots_.size(), n_out = outputs_.size();
    // Converting an input may run Python (an object's __array__), which may call run() again on this thread: a
    // nested call gets buffers of its own instead of the thread's.
    Scratch nested;
    Scratch& sc = t_run_depth == 0 ? scratch() : nested;
    ScratchGuard guard{sc};
    // Which outputs to return, in the order asked.
    if (output_names.is_none() || py::len(output_names) == 0) {
      for (size_t i = 0; i < n_out; ++i) sc.wanted.push_back(i);
    } else {
      for (const py::handle& h : output_names) {
        const std::string name = py::str(h);
        const int64_t i = octet_session_output_index(s, name.c_str());
        if (i < 0)
          raise(g_errors.invalid_argument, "octet.InferenceSession.run: '" + name +
                                               "' is not an output of the model (outputs: " + output_list() + ")");
        sc.wanted.push_back(size_t(i));
      }
    }
    if (size_t(PyDict_Size(feed.ptr())) != n_in) check_feed_names(feed);
    // Inputs: arrays kept alive by `keep` while the GIL is released; the tensors point into them.
    sc.in.resize(n_in);
    sc.out.assign(n_out, octet_tensor{});
    for (size_t i = 0; i < n_in; ++i) {
      PyObject* v = PyDict_GetItem(feed.ptr(), slots_[i].key.ptr());
      if (!v) check_feed_names(feed);
      sc.keep.push_back(as_input_array(py::reinterpret_borrow<py::object>(v), slots_[i]));
      fill_tensor(sc.keep.back(), slots_[i], &sc.in[i]);
    }
    octet_status* st;
    {
      py::gil_scoped_release nogil;
      st = octet_session_run(s, sc.in.data(), n_in, sc.out.data(), n_out);
    }
    check(st, Stage::use);
    // Each output buffer becomes an ndarray that owns it (asked twice: the same array); the rest are freed.
    py::list result(sc.wanted.size());
    std::vector<PyObject*>& made = sc.made;
    made.assign(n_out, nullptr);
    for (size_t k = 0; k < sc.wanted.size(); ++k) {
      const size_t i = sc.wanted[k];
      if (!made[i]) {
        made[i] = adopt(sc.out[i]).release().ptr();
        sc.out[i].data = nullptr;
      } else {
        Py_INCREF(made[i]);
      }
      PyList_SET_ITEM(result.ptr(), Py_ssize_t(k), made[i]);
    }
    return result;
  }

  // Benchmark baseline (bench/python_overhead.py): `calls` runs of the same feed through the C++ API
  // (octet::Session::run, outputs allocated by the library), timed one by one in this process, in microseconds.
  std::vector<double> time_cxx_runs(const py::dict& feed, int calls) {
    std::vector<py::array> keep;
    std::vector<octet::TensorView> views;
    for (const InputSlot& slot : slots_) {
      PyObject* v = PyDict_GetItem(feed.ptr(), slot.key.ptr());
      if (!v) check_feed_names(feed);
      keep.push_back(as_input_array(py::reinterpret_borrow<py::object>(v), slot));
      const py::array& a = keep.back();
      views.emplace_back(slot.dtype, std::vector<int64_t>(a.shape(), a.shape() + a.ndim()), a.data(),
                         size_t(a.nbytes()));
    }
    std::vector<double> us(static_cast<size_t>(std::max(calls, 0)), 0.0);
    std::optional<octet::Error> failed;  // raised once the GIL is back
    {
      py::gil_scoped_release nogil;
      try {
        for (double& t : us) {
          const auto t0 = std::chrono::steady_clock::now();
          std::vector<octet::Tensor> out = session_->run(views);
          t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
        }
      } catch (const octet::Error& e) {
        failed = e;
      }
    }
    if (failed) raise_code(failed->code(), failed->what(), Stage::use);
    return us;
  }

  py::array load_image(const std::string& path, size_t input) {
    octet_tensor t{};
    check(octet_image_load(session_->get(), input, path.c_str(), &t), Stage::use);
    return adopt(t);
  }

  py::list describe() {
    // Describing compiles the model: what fails here is the model's fault.
    const std::vector<octet::NodeInfo> nodes = guarded(Stage::load, [&] { return session_->describe(); });
    py::list r;
    for (const octet::NodeInfo& n : nodes) {
      py::dict d;
      d["name"] = n.name;
      d["op"] = n.op;
      d["fused"] = n.fused;
      d["precision"] = n.precision;
      d["kernel"] = n.kernel;
      d["inputs"] = n.inputs;
      d["outputs"] = n.outputs;
      d["note"] = n.note;
      r.append(d);
    }
    return r;
  }

  py::object metadata(const std::string& key) const {
    auto v = session_->metadata(key);
    return v ? py::object(py::str(*v)) : py::object(py::none());
  }

  static py::list last_input_addresses() {
    py::list r;
    for (uintptr_t a : t_input_addresses) r.append(a);
    return r;
  }

 private:
  static void check_providers(const py::object& providers) {
    if (providers.is_none()) return;
    for (const py::handle& p : providers) {
      // onnxruntime takes names or (name, options) pairs; octet is one CPU provider.
      const py::object name = py::isinstance<py::tuple>(p) ? py::reinterpret_borrow<py::tuple>(p)[0]
                                                           : py::reinterpret_borrow<py::object>(p);
      const std::string n = py::str(name);
      if (n != "CPUExecutionProvider")
        PyErr_WarnEx(PyExc_RuntimeWarning,
                     ("octet.InferenceSession: provider '" + n + "' is not available; octet runs on the CPU").c_str(),
                     1);
    }
  }

  // Inputs as the model declares them (or as set); outputs for those: when every input shape is fixed the C
  // API compiles the model to give exact output shapes, so a model that cannot compile fails here, at load, as in
  // onnxruntime. Otherwise an output's declared dims (with symbols), or an empty shape when the model gives none.
  void describe_io() {
    octet_session* s = session_->get();
    bool all_fixed = true;
    for (size_t i = 0; i < session_->input_count(); ++i) {
      octet_tensor t{};
      octet_status* st = octet_session_input_info(s, i, &t);
      all_fixed &= !st && t.bytes > 0;
      inputs_.push_back(node_arg(octet_session_input_name(s, i), st, t,
                                 [&](size_t d) { return octet_session_input_dim_name(s, i, d); }));
      const octet_dtype dt = st ? OCTET_DTYPE_UNDEFINED : t.dtype;
      octet_status_free(st);
      slots_.push_back(InputSlot{inputs_.back().name, py::str(inputs_.back().name), dt, numpy_type(dt)});
    }
    for (size_t i = 0; i < session_->output_count(); ++i) {
      octet_tensor t{};
      octet_status* st = octet_session_output_info(s, i, &t);
      if (st && all_fixed) check(st, Stage::load);
      outputs_.push_back(node_arg(octet_session_output_name(s, i), st, t,
                                  [&](size_t d) { return octet_session_output_dim_name(s, i, d); }));
      octet_status_free(st);
    }
  }

  // `st` non-NULL: the model gives no shape (onnxruntime then reports an empty shape).
  template <class DimName>
  static NodeArg node_arg(const char* name, const octet_status* st, const octet_tensor& t, DimName dim_name) {
    NodeArg a;
    a.name = name ? name : "";
    a.type = onnx_type_name(st ? OCTET_DTYPE_UNDEFINED : t.dtype);
    if (st) return a;
    for (int32_t d = 0; d < t.rank; ++d) {
      if (t.shape[d] >= 0) {
        a.shape.append(t.shape[d]);
      } else {
        const char* sym = dim_name(size_t(d));
        a.shape.append(sym ? py::object(py::str(sym)) : py::object(py::none()));
      }
    }
    return a;
  }

  std::string output_list() const {
    std::string r;
    for (const NodeArg& a : outputs_) r += (r.empty() ? "'" : ", '") + a.name + "'";
    return r;
  }

  // Raises naming the missing or unknown feed names (called when the feed does not match the inputs).
  void check_feed_names(const py::dict& feed) const {
    std::string inputs;
    for (const InputSlot& s : slots_) inputs += (inputs.empty() ? "'" : ", '") + s.name + "'";
    for (const auto& kv : feed) {
      const std::string k = py::str(kv.first);
      bool known = false;
      for (const InputSlot& s : slots_) known |= s.name == k;
      if (!known)
        raise(g_errors.invalid_argument,
              "octet.InferenceSession.run: '" + k + "' is not an input of the model (inputs: " + inputs + ")");
    }
    for (const InputSlot& s : slots_)
      if (!feed.contains(s.name))
        raise(g_errors.invalid_argument, "octet.InferenceSession.run: input '" + s.name + "' is missing from the feed");
  }

  // The array the engine reads: the value itself when it is an ndarray of the input's dtype, C-contiguous and
  // aligned (no copy); a contiguous copy of an ndarray of that dtype with other strides; anything else that
  // numpy turns into an array of that dtype without a cast (a list of ints for an int64 input, a torch tensor).
  static py::array as_input_array(const py::object& v, const InputSlot& slot) {
    py::array a = py::isinstance<py::array>(v) ? py::reinterpret_borrow<py::array>(v)
                                               : py::reinterpret_steal<py::array>(as_array(v, slot));
    if (slot.numpy_num < 0 || !same_type(a.dtype(), slot.numpy_num)) {
      const std::string got = py::str(a.dtype());
      raise(g_errors.invalid_argument, "octet.InferenceSession.run: input '" + slot.name + "' expects " +
                                           onnx_type_name(slot.dtype) + ", got an array of dtype " + got);
    }
    constexpr int kReady = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
    if ((a.flags() & kReady) != kReady)
      a = py::reinterpret_steal<py::array>(
          py::detail::npy_api::get().PyArray_FromAny_(a.ptr(), nullptr, 0, 0, kReady | 0x0020 /*ENSURECOPY*/, nullptr));
    if (!a) throw py::error_already_set();
    return a;
  }

  static PyObject* as_array(const py::object& v, const InputSlot& slot) {
    PyObject* r = py::detail::npy_api::get().PyArray_FromAny_(v.ptr(), nullptr, 0, 0, 0, nullptr);
    if (!r) {
      PyErr_Clear();
      raise(g_errors.invalid_argument, "octet.InferenceSession.run: input '" + slot.name + "' is a " +
                                           std::string(py::str(v.get_type().attr("__name__"))) +
                                           ", expected a numpy array");
    }
    return r;
  }

  static void fill_tensor(const py::array& a, const InputSlot& slot, octet_tensor* t) {
    const py::ssize_t rank = a.ndim();
    if (rank > OCTET_MAX_RANK)
      raise(g_errors.invalid_argument, "octet.InferenceSession.run: input '" + slot.name + "' has rank " +
                                           std::to_string(rank) + ", above octet's maximum " +
                                           std::to_string(OCTET_MAX_RANK));
    t->dtype = slot.dtype;
    t->rank = int32_t(rank);
    for (py::ssize_t d = 0; d < rank; ++d) t->shape[d] = a.shape(d);
    t->data = const_cast<void*>(a.data());
    t->bytes = size_t(a.nbytes());
  }

  // An ndarray that owns a buffer the library allocated: freed with octet_free when the array goes (the capsule
  // is the array's base). Made with numpy's C API: no shape vector, no copy.
  static py::array adopt(const octet_tensor& t) {
    const int num = numpy_type(t.dtype);
    if (num < 0) {
      octet_free(t.data);
      raise(g_errors.unsupported, std::string("octet: numpy has no dtype for ") + onnx_type_name(t.dtype));
    }
    py::capsule owner(t.data, [](void* p) { octet_free(p); });
    auto& api = py::detail::npy_api::get();
    Py_intptr_t dims[OCTET_MAX_RANK];
    for (int32_t d = 0; d < t.rank; ++d) dims[d] = Py_intptr_t(t.shape[d]);
    constexpr int kFlags = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_ |
                           py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    PyObject* arr = api.PyArray_NewFromDescr_(api.PyArray_Type_, api.PyArray_DescrFromType_(num), t.rank, dims, nullptr,
                                              t.data, kFlags, nullptr);
    if (!arr) throw py::error_already_set();
    if (api.PyArray_SetBaseObject_(arr, owner.release().ptr()) != 0) {
      Py_DECREF(arr);
      throw py::error_already_set();
    }
    return py::reinterpret_steal<py::array>(arr);
  }

  // Per-thread buffers of run(), reused so a call allocates nothing but its output arrays. The guard empties
  // them on every exit (the input references drop with the GIL held; outputs not handed over are freed).
  struct Scratch {
    std::vector<size_t> wanted;
    std::vector<py::array> keep;
    std::vector<octet_tensor> in, out;
    std::vector<PyObject*> made;
  };
  static inline thread_local int t_run_depth = 0;
  struct ScratchGuard {
    Scratch& sc;
    ScratchGuard(Scratch& s) : sc(s) { ++t_run_depth; }
    ~ScratchGuard() {
      --t_run_depth;
      for (octet_tensor& t : sc.out) octet_free(t.data);
      sc.out.clear();
      sc.keep.clear();
      sc.wanted.clear();
    }
  };
  static Scratch& scratch() {
    // Destroyed at thread exit, possibly without the GIL: harmless, since the guard leaves it holding no object.
    thread_local Scratch sc;
    return sc;
  }

  std::unique_ptr<octet::Session> session_;
  std::vector<NodeArg> inputs_, outputs_;
  std::vector<InputSlot> slots_;
};

// ---- quantization -------------------------------------------------------------------------------------------

class Quantizer {
 public:
  Quantizer(const std::string& model, const std::string& method, std::optional<double> percentile,
            std::optional<int64_t> samples, int weight_bits, const std::vector<std::string>& exclude,
            std::optional<int> threads) {
    octet::Quantizer::Options o;
    o.method = method;
    o.percentile = percentile.value_or(0);
    o.samples = samples.value_or(0);
    o.weight_bits = weight_bits;
    o.exclude = exclude;
    o.threads = threads.value_or(0);
    q_ = guarded(Stage::load, [&] { return std::make_unique<octet::Quantizer>(model, o); });
  }

  void add(const py::array_t<float, py::array::c_style | py::array::forcecast>& batch) {
    std::vector<int64_t> shape(batch.shape(), batch.shape() + batch.ndim());
    const octet::TensorView v(OCTET_DTYPE_FLOAT32, shape, batch.data(), size_t(batch.nbytes()));
    octet_tensor t = guarded(Stage::use, [&] { return v.to_c(); });
    octet_status* st;
    {
      py::gil_scoped_release nogil;
      st = octet_quantizer_add(q_->get(), &t);
    }
    check(st, Stage::use);
  }

  // `progress(done, total)` is called after each batch (with the GIL, from the calling thread).
  void add_folder(const std::string& dir, const py::object& progress) {
    struct Ctx {
      py::object fn;
      bool failed = false;
    } ctx{progress};
    auto cb = [](void* user, int64_t done, int64_t total) {
      auto* c = static_cast<Ctx*>(user);
      py::gil_scoped_acquire gil;
      if (c->failed) return;
      try {
        c->fn(done, total);
      } catch (py::error_already_set& e) {
        c->failed = true;  // reported after the call; the C library cannot carry a Python exception
        e.restore();
      }
    };
    octet_status* st;
    {
      py::gil_scoped_release nogil;
      st = octet_quantizer_add_folder(q_->get(), dir.c_str(), progress.is_none() ? nullptr : +cb, &ctx);
    }
    if (ctx.failed) {
      octet_status_free(st);
      throw py::error_already_set();
    }
    check(st, Stage::use);
  }

  int64_t samples() const { return q_->samples(); }

  void save(const std::string& output, const std::optional<std::string>& table) {
    octet_status* st;
    {
      py::gil_scoped_release nogil;
      st = octet_quantizer_save(q_->get(), output.c_str(), table ? table->c_str() : nullptr);
    }
    check(st, Stage::use);
  }

  void save_from_table(const std::string& table, const std::string& output) {
    check(octet_quantizer_save_from_table(q_->get(), table.c_str(), output.c_str()), Stage::use);
  }

 private:
  std::unique_ptr<octet::Quantizer> q_;
};

PyObject* new_error(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string full = std::string("octet.") + name;
  PyObject* e = PyErr_NewExceptionWithDoc(full.c_str(), doc, bases, nullptr);
  if (!e) throw py::error_already_set();
  m.add_object(name, py::reinterpret_borrow<py::object>(e));
  return e;
}

PyObject* bases(std::initializer_list<PyObject*> types) {
  PyObject* t = PyTuple_New(Py_ssize_t(types.size()));
  Py_ssize_t i = 0;
  for (PyObject* b : types) {
    Py_INCREF(b);
    PyTuple_SET_ITEM(t, i++, b);
  }
  return t;
}

}  // namespace

PYBIND11_MODULE(_octet, m) {
  m.doc() = "octet's binding (use the package `octet`)";
  m.attr("__version__") = octet::version();

  g_errors.base =
      new_error(m, "Error", PyExc_RuntimeError, "Base of every error octet raises; str() is the engine's message.");
  g_errors.invalid_argument =
      new_error(m, "InvalidArgument", bases({g_errors.base, PyExc_ValueError}),
                "A bad argument: an input of the wrong dtype or shape, an unknown name, a bad option.");
  g_errors.invalid_model =
      new_error(m, "InvalidModel", g_errors.base, "A model that cannot be read or is not valid ONNX.");
  g_errors.no_such_file = new_error(m, "NoSuchFile", bases({g_errors.invalid_model, PyExc_FileNotFoundError}),
                                    "The model file does not exist.");
  g_errors.unsupported = new_error(m, "UnsupportedOp", g_errors.base,
                                   "A valid model (or option) that octet does not implement: an op, a dtype.");
  g_errors.out_of_memory = new_error(m, "OutOfMemory", bases({g_errors.base, PyExc_MemoryError}),
                                     "An allocation failed, or a run exceeds the session's memory limit.");
  g_errors.internal = new_error(m, "InternalError", g_errors.base, "A bug in octet: please report the message.");

  py::class_<NodeArg>(m, "NodeArg", "A model input or output: name, shape (str or None for a symbolic dim), type.")
      .def_readonly("name", &NodeArg::name)
      .def_readonly("shape", &NodeArg::shape)
      .def_readonly("type", &NodeArg::type)
      .def("__repr__", &NodeArg::repr);

  py::class_<InferenceSession>(m, "InferenceSession")
      .def(py::init<const py::object&, const py::object&, const py::object&, std::optional<int>, const std::string&,
                    const std::optional<std::string>&, const std::optional<std::string>&, bool>(),
           py::arg("path_or_bytes"), py::arg("sess_options") = py::none(), py::arg("providers") = py::none(),
           py::kw_only(), py::arg("threads") = py::none(), py::arg("precision") = "fp32",
           py::arg("calibration_table") = py::none(), py::arg("max_isa") = py::none(), py::arg("_trace_inputs") = false)
      .def("get_inputs", &InferenceSession::inputs)
      .def("get_outputs", &InferenceSession::outputs)
      .def("get_providers", [](const InferenceSession&) { return std::vector<std::string>{"CPUExecutionProvider"}; })
      .def("run", &InferenceSession::run, py::arg("output_names"), py::arg("input_feed"),
           py::arg("run_options") = py::none())
      .def("_time_cxx_runs", &InferenceSession::time_cxx_runs, py::arg("input_feed"), py::arg("calls"))
      .def("load_image", &InferenceSession::load_image, py::arg("path"), py::arg("input") = 0)
      .def("describe", &InferenceSession::describe)
      .def("metadata", &InferenceSession::metadata, py::arg("key"))
      .def_static("_last_input_addresses", &InferenceSession::last_input_addresses);

  py::class_<Quantizer>(m, "Quantizer")
      .def(py::init<const std::string&, const std::string&, std::optional<double>, std::optional<int64_t>, int,
                    const std::vector<std::string>&, std::optional<int>>(),
           py::arg("model"), py::arg("method") = "mse", py::arg("percentile") = py::none(),
           py::arg("samples") = py::none(), py::arg("weight_bits") = 8, py::arg("exclude") = std::vector<std::string>{},
           py::arg("threads") = py::none())
      .def("add", &Quantizer::add, py::arg("batch"))
      .def("add_folder", &Quantizer::add_folder, py::arg("dir"), py::arg("progress") = py::none())
      .def_property_readonly("samples", &Quantizer::samples)
      .def("save", &Quantizer::save, py::arg("output"), py::arg("table") = py::none())
      .def("save_from_table", &Quantizer::save_from_table, py::arg("table"), py::arg("output"));
}
