// octet: the C++20 API, a header-only layer over the C API (octet/octet.h): RAII handles, exceptions
// (octet::Error carrying the C status code and message) and std::span for tensor data.
//
//   octet::Session s = octet::Session::load("model.onnx", {.threads = 2});
//   octet::Tensor image = s.load_image("cat.png");              // [1, C, H, W] float32, preprocessed
//   std::vector<octet::Tensor> out = s.run({image.view()});
//   std::span<const float> scores = out[0].data<float>();
//
// Thread-safety follows the C API: one Session may be run from many threads at once; a Tensor is a plain value
// (one thread at a time, or read-only sharing).
//
// The names live in an inline namespace (octet::v0) so that they never collide, at link time, with the engine's
// internal classes of the same short names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "octet/octet.h"

namespace octet {
inline namespace v0 {

/// What a failed call throws: the C API's code and its message (naming the file, node or argument).
class Error : public std::runtime_error {
 public:
  Error(octet_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  octet_code code() const noexcept { return code_; }

 private:
  octet_code code_;
};

namespace detail {

/// Throws the status as an Error (and frees it); does nothing for NULL (success).
inline void check(octet_status* status) {
  if (!status) return;
  std::unique_ptr<octet_status, decltype(&octet_status_free)> owned(status, &octet_status_free);
  throw Error(octet_status_code(status), octet_status_message(status));
}

struct Free {
  void operator()(void* p) const noexcept { octet_free(p); }
};

}  // namespace detail

/// The element type code of a C++ type (float -> OCTET_DTYPE_FLOAT32, int64_t -> OCTET_DTYPE_INT64, ...).
template <class T>
constexpr octet_dtype dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>) return OCTET_DTYPE_FLOAT32;
  else if constexpr (std::is_same_v<U, double>) return OCTET_DTYPE_FLOAT64;
  else if constexpr (std::is_same_v<U, uint8_t>) return OCTET_DTYPE_UINT8;
  else if constexpr (std::is_same_v<U, int8_t>) return OCTET_DTYPE_INT8;
  else if constexpr (std::is_same_v<U, uint16_t>) return OCTET_DTYPE_UINT16;
  else if constexpr (std::is_same_v<U, int16_t>) return OCTET_DTYPE_INT16;
  else if constexpr (std::is_same_v<U, int32_t>) return OCTET_DTYPE_INT32;
  else if constexpr (std::is_same_v<U, int64_t>) return OCTET_DTYPE_INT64;
  else if constexpr (std::is_same_v<U, uint32_t>) return OCTET_DTYPE_UINT32;
  else if constexpr (std::is_same_v<U, uint64_t>) return OCTET_DTYPE_UINT64;
  else if constexpr (std::is_same_v<U, bool>) return OCTET_DTYPE_BOOL;
  else static_assert(!sizeof(T), "no octet dtype for this type");
}

/// The library's version ("0.1.0").
inline std::string version() { return octet_version(); }

/// A non-owning tensor: dtype, shape and the caller's data. The data must outlive the call it is passed to.
struct TensorView {
  octet_dtype dtype = OCTET_DTYPE_UNDEFINED;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;

  TensorView() = default;
  TensorView(octet_dtype t, std::vector<int64_t> s, const void* d, size_t b)
      : dtype(t), shape(std::move(s)), data(d), bytes(b) {}
  /// A view of typed data; `data.size()` must be at least the shape's element count.
  template <class T>
  TensorView(std::span<T> data, std::vector<int64_t> s)
      : dtype(dtype_of<T>()), shape(std::move(s)), data(data.data()), bytes(data.size_bytes()) {}

  octet_tensor to_c() const {
    if (shape.size() > OCTET_MAX_RANK)
      throw Error(OCTET_ERROR_INVALID_ARGUMENT, "octet::TensorView: rank " + std::to_string(shape.size()) +
                                                    " is above OCTET_MAX_RANK");
    octet_tensor t{};
    t.dtype = dtype;
    t.rank = int32_t(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) t.shape[i] = shape[i];
    t.data = const_cast<void*>(data);  // the C API reads inputs only
    t.bytes = bytes;
    return t;
  }
};

/// An owning tensor the library allocated (a run's output, a decoded image). Move-only.
class Tensor {
 public:
  Tensor() = default;
  /// Takes ownership of a C tensor whose data the library allocated (left NULL by the caller of octet_session_run
  /// or octet_image_load): octet_free releases it when the Tensor goes.
  static Tensor adopt(const octet_tensor& t) {
    Tensor r;
    r.dtype_ = t.dtype;
    r.shape_.assign(t.shape, t.shape + t.rank);
    r.bytes_ = t.bytes;
    r.data_.reset(t.data);
    return r;
  }

  octet_dtype dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  size_t bytes() const { return bytes_; }
  /// Element count.
  size_t size() const {
    size_t n = 1;
    for (int64_t d : shape_) n *= size_t(d);
    return n;
  }
  /// The elements as T; throws Error when T is not the tensor's dtype.
  template <class T>
  std::span<const T> data() const {
    check_type<T>();
    return {static_cast<const T*>(data_.get()), size()};
  }
  template <class T>
  std::span<T> data() {
    check_type<T>();
    return {static_cast<T*>(data_.get()), size()};
  }
  /// A view for passing this tensor as a run input.
  TensorView view() const { return TensorView(dtype_, shape_, data_.get(), bytes_); }

 private:
  template <class T>
  void check_type() const {
    if (dtype_of<T>() != dtype_)
      throw Error(OCTET_ERROR_INVALID_ARGUMENT, "octet::Tensor: data<T>() with T of dtype " +
                                                    std::to_string(int(dtype_of<T>())) + ", the tensor's is " +
                                                    std::to_string(int(dtype_)));
  }

  octet_dtype dtype_ = OCTET_DTYPE_UNDEFINED;
  std::vector<int64_t> shape_;
  size_t bytes_ = 0;
  std::unique_ptr<void, detail::Free> data_;
};

/// A model input's or output's description. A dim of -1 is not known yet (symbolic, not set).
struct TensorInfo {
  std::string name;
  octet_dtype dtype = OCTET_DTYPE_UNDEFINED;
  std::vector<int64_t> shape;
  size_t bytes = 0;  // 0 while a dim is -1
};

/// Session options; see the octet_options_set_* functions for each field's meaning.
struct Options {
  int threads = 0;                              // 0: the physical cores available
  octet_precision precision = OCTET_PRECISION_FP32;
  std::string calibration_table{};              // INT8 only
  std::string max_isa{};                        // "" or scalar|avx2|avxvnni|avx512|avx512vnni
  size_t memory_limit = 0;                      // bytes of run arenas in flight; 0: none
  bool shared_pool = true;                      // false: this session's runs get worker threads of their own
  size_t max_cached_plans = 8;                  // plans kept, one per input shape; 0: no bound
  octet_input_observer input_observer = nullptr;  // testing: see octet_options_set_input_observer
  void* input_observer_user = nullptr;
};

/// One node of the compiled graph (see octet_node_info).
struct NodeInfo {
  std::string name, op, fused, precision, kernel, inputs, outputs, note;
};

/// A loaded model. Move-only; destroying it frees the model (no run may be in progress).
class Session {
 public:
  /// Loads and validates a model file. Throws Error.
  static Session load(const std::string& path, const Options& options = {}) {
    auto opt = make_options(options);
    octet_session* s = nullptr;
    detail::check(octet_session_create(path.c_str(), opt.get(), &s));
    return Session(s);
  }
  /// The same from a model in memory (copied as needed: the bytes may be freed after this returns).
  static Session from_memory(std::span<const std::byte> model, const Options& options = {}) {
    auto opt = make_options(options);
    octet_session* s = nullptr;
    detail::check(octet_session_create_from_memory(model.data(), model.size(), opt.get(), &s));
    return Session(s);
  }

  /// The C handle, for mixing with the C API. Still owned by this object.
  octet_session* get() const { return s_.get(); }

  size_t input_count() const { return octet_session_input_count(s_.get()); }
  size_t output_count() const { return octet_session_output_count(s_.get()); }
  TensorInfo input(size_t i) const {
    octet_tensor t;
    detail::check(octet_session_input_info(s_.get(), i, &t));
    return info(octet_session_input_name(s_.get(), i), t);
  }
  /// Output i for the current input shapes (see octet_session_output_info).
  TensorInfo output(size_t i) const {
    octet_tensor t;
    detail::check(octet_session_output_info(s_.get(), i, &t));
    return info(octet_session_output_name(s_.get(), i), t);
  }
  /// Binds input i's shape (e.g. the batch) and compiles for it when all shapes are known. Throws Error.
  void set_input_shape(size_t i, std::span<const int64_t> shape) {
    detail::check(octet_session_set_input_shape(s_.get(), i, shape.data(), shape.size()));
  }
  void set_input_shape(size_t i, std::initializer_list<int64_t> shape) {
    set_input_shape(i, std::span<const int64_t>(shape.begin(), shape.size()));
  }
  /// A metadata_props value, if the model has the key.
  std::optional<std::string> metadata(const std::string& key) const {
    const char* v = octet_session_metadata(s_.get(), key.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  }
  /// Class names from the metadata key "labels" (one per line); empty when the model has none.
  std::vector<std::string> labels() const {
    std::vector<std::string> r;
    std::string text = metadata("labels").value_or("");
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      r.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return r;
  }

  /// Runs the model; outputs are allocated by the library. Thread-safe.
  std::vector<Tensor> run(std::span<const TensorView> inputs) {
    std::vector<octet_tensor> in = to_c(inputs), out(output_count());
    detail::check(octet_session_run(s_.get(), in.data(), in.size(), out.data(), out.size()));
    std::vector<Tensor> r;
    for (const octet_tensor& t : out) r.push_back(Tensor::adopt(t));
    return r;
  }
  std::vector<Tensor> run(std::initializer_list<TensorView> inputs) {
    return run(std::span<const TensorView>(inputs.begin(), inputs.size()));
  }
  /// Runs the model writing output i into `outputs[i]` (the caller's memory, large enough for the output); returns
  /// each output's description (shape, bytes written). Thread-safe.
  std::vector<TensorInfo> run(std::span<const TensorView> inputs, std::span<const std::span<std::byte>> outputs) {
    std::vector<octet_tensor> in = to_c(inputs), out(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      out[i].data = outputs[i].data();
      out[i].bytes = outputs[i].size();
    }
    detail::check(octet_session_run(s_.get(), in.data(), in.size(), out.data(), out.size()));
    std::vector<TensorInfo> r;
    for (size_t i = 0; i < out.size(); ++i) r.push_back(info(octet_session_output_name(s_.get(), i), out[i]));
    return r;
  }

  /// The compiled graph for the current input shapes, one entry per node in run order (what `octet inspect`
  /// prints). Throws Error.
  std::vector<NodeInfo> describe() {
    octet_node_info* nodes = nullptr;
    size_t n = 0;
    detail::check(octet_session_describe(s_.get(), &nodes, &n));
    std::unique_ptr<void, detail::Free> owned(nodes);
    std::vector<NodeInfo> r;
    for (size_t i = 0; i < n; ++i) {
      const octet_node_info& x = nodes[i];
      r.push_back(NodeInfo{x.name, x.op, x.fused, x.precision, x.kernel, x.inputs, x.outputs, x.note});
    }
    return r;
  }

  /// Decodes and preprocesses an image file for image input `input`, as `octet infer` does. Throws Error.
  Tensor load_image(const std::string& path, size_t input = 0) {
    octet_tensor t{};
    detail::check(octet_image_load(s_.get(), input, path.c_str(), &t));
    return Tensor::adopt(t);
  }
  /// The same into the caller's memory, e.g. one image's row of a batch: `dst` must hold C*H*W floats.
  void load_image(const std::string& path, std::span<float> dst, size_t input = 0) {
    octet_tensor t{};
    t.data = dst.data();
    t.bytes = dst.size_bytes();
    detail::check(octet_image_load(s_.get(), input, path.c_str(), &t));
  }
  /// From an encoded JPEG/PNG in memory.
  Tensor decode_image(std::span<const std::byte> encoded, size_t input = 0) {
    octet_tensor t{};
    detail::check(octet_image_decode(s_.get(), input, encoded.data(), encoded.size(), &t));
    return Tensor::adopt(t);
  }

 private:
  explicit Session(octet_session* s) : s_(s) {}

  struct DestroyOptions {
    void operator()(octet_options* o) const noexcept { octet_options_destroy(o); }
  };
  struct DestroySession {
    void operator()(octet_session* s) const noexcept { octet_session_destroy(s); }
  };

  static std::unique_ptr<octet_options, DestroyOptions> make_options(const Options& o) {
    octet_options* raw = nullptr;
    detail::check(octet_options_create(&raw));
    std::unique_ptr<octet_options, DestroyOptions> opt(raw);
    detail::check(octet_options_set_threads(raw, o.threads));
    detail::check(octet_options_set_precision(raw, o.precision));
    if (!o.calibration_table.empty())
      detail::check(octet_options_set_calibration_table(raw, o.calibration_table.c_str()));
    if (!o.max_isa.empty()) detail::check(octet_options_set_max_isa(raw, o.max_isa.c_str()));
    detail::check(octet_options_set_memory_limit(raw, o.memory_limit));
    detail::check(octet_options_set_shared_pool(raw, o.shared_pool ? 1 : 0));
    detail::check(octet_options_set_max_cached_plans(raw, o.max_cached_plans));
    if (o.input_observer) detail::check(octet_options_set_input_observer(raw, o.input_observer, o.input_observer_user));
    return opt;
  }

  static std::vector<octet_tensor> to_c(std::span<const TensorView> inputs) {
    std::vector<octet_tensor> r;
    for (const TensorView& v : inputs) r.push_back(v.to_c());
    return r;
  }

  static TensorInfo info(const char* name, const octet_tensor& t) {
    return TensorInfo{name ? name : "", t.dtype, std::vector<int64_t>(t.shape, t.shape + t.rank), t.bytes};
  }

  std::unique_ptr<octet_session, DestroySession> s_;
};

/// Post-training quantization (the same function as `octet quantize`): add calibration samples, then save the QDQ
/// model. Move-only; one thread at a time.
///
///   octet::Quantizer q("model.onnx");
///   q.add_folder("calib/");
///   q.save("model.int8.onnx", "table.txt");
class Quantizer {
 public:
  struct Options {
    std::string method = "mse";  // minmax | percentile | entropy | mse
    double percentile = 0;       // method "percentile": 0 means 99.99
    int64_t samples = 0;         // 0: all
    int weight_bits = 8;         // 8 or 7
    std::vector<std::string> exclude{};
    int threads = 0;
  };

  explicit Quantizer(const std::string& model_path) : Quantizer(model_path, Options{}) {}
  Quantizer(const std::string& model_path, const Options& o) {
    std::vector<const char*> exclude;
    for (const std::string& e : o.exclude) exclude.push_back(e.c_str());
    octet_quantize_options c{o.method.c_str(), o.percentile, o.samples, o.weight_bits, exclude.data(),
                             exclude.size(), o.threads};
    octet_quantizer* q = nullptr;
    detail::check(octet_quantizer_create(model_path.c_str(), &c, &q));
    q_.reset(q);
  }

  octet_quantizer* get() const { return q_.get(); }
  /// Adds one float32 batch [B, ...] of the model's input.
  void add(const TensorView& batch) {
    octet_tensor t = batch.to_c();
    detail::check(octet_quantizer_add(q_.get(), &t));
  }
  /// Adds the images / .pb tensors under a folder.
  void add_folder(const std::string& dir, octet_progress_fn progress = nullptr, void* user = nullptr) {
    detail::check(octet_quantizer_add_folder(q_.get(), dir.c_str(), progress, user));
  }
  int64_t samples() const { return octet_quantizer_samples(q_.get()); }
  /// Writes the QDQ model, and the calibration table when `table_path` is not empty.
  void save(const std::string& output_path, const std::string& table_path = "") {
    detail::check(octet_quantizer_save(q_.get(), output_path.c_str(), table_path.empty() ? nullptr : table_path.c_str()));
  }
  /// Writes the QDQ model with an existing table's parameters.
  void save_from_table(const std::string& table_path, const std::string& output_path) {
    detail::check(octet_quantizer_save_from_table(q_.get(), table_path.c_str(), output_path.c_str()));
  }

 private:
  struct Destroy {
    void operator()(octet_quantizer* q) const noexcept { octet_quantizer_destroy(q); }
  };
  std::unique_ptr<octet_quantizer, Destroy> q_;
};

}  // namespace v0
}  // namespace octet
