/* octet: a CPU inference engine for ONNX vision models - the C API.
 *
 * Lifecycle: options -> session (load, validate) -> [set input shapes] -> run many times, from many threads ->
 * destroy. Every handle is opaque; every function that can fail returns an octet_status* that is NULL on success
 * and otherwise owns a code and a message the caller frees with octet_status_free().
 *
 *   octet_session* s = NULL;
 *   octet_status* st = octet_session_create("model.onnx", NULL, &s);
 *   if (st) { fprintf(stderr, "%s\n", octet_status_message(st)); octet_status_free(st); return 1; }
 *
 * Thread-safety, in one place: a session may be run (octet_session_run) from any number of threads at once; each
 * concurrent run gets its own activation arena and the results are bit-identical to a single-threaded run. Queries
 * and octet_session_set_input_shape are also safe to call concurrently. Options objects and status objects are not
 * shared-state objects: use one from one thread at a time. Destroying a session while another thread uses it is an
 * error.
 *
 * Tensors cross the API as octet_tensor: dtype, shape and a pointer to densely packed row-major (C order) data.
 * Input data is read in place (never copied) and must stay valid until the call returns. Buffers the library
 * allocates (when the caller leaves data NULL) are freed with octet_free().
 */
#ifndef OCTET_OCTET_H_
#define OCTET_OCTET_H_

#include <stddef.h>
#include <stdint.h>

/* The shared library exports only the symbols marked OCTET_API (it is built with -fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define OCTET_API __attribute__((visibility("default")))
#else
#define OCTET_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header. octet_version() gives the library's; they match when the header and the library
 * come from the same install. The major version is the shared library's SONAME (liboctet.so.MAJOR). */
#define OCTET_VERSION_MAJOR 0
#define OCTET_VERSION_MINOR 1
#define OCTET_VERSION_PATCH 0

/// The library's version, "MAJOR.MINOR.PATCH". Static storage: never free it. Thread-safe.
OCTET_API const char* octet_version(void);

/* ---- Status ------------------------------------------------------------------------------------------------ */

typedef enum octet_code {
  OCTET_OK = 0,
  OCTET_ERROR_INVALID_ARGUMENT = 1, /* API misuse: NULL handle, index out of range, buffer too small, bad option */
  OCTET_ERROR_BAD_INPUT = 2,        /* malformed model or image, a file that cannot be read, wrong input shape */
  OCTET_ERROR_UNSUPPORTED = 3,      /* a valid model or option that octet does not implement (an op, a dtype) */
  OCTET_ERROR_OUT_OF_MEMORY = 4,    /* an allocation failed, or a run would exceed the session's memory limit */
  OCTET_ERROR_INTERNAL = 5          /* a bug in octet: please report the message */
} octet_code;

/// What went wrong: a code and a message. NULL means success everywhere a status is returned.
typedef struct octet_status octet_status;

/// The status's code; OCTET_OK for NULL. Thread-safe.
OCTET_API octet_code octet_status_code(const octet_status* status);
/// The status's message, a complete sentence naming the file, node or argument and what was expected
/// (e.g. "model.onnx: input 'input' expects shape Nx1x28x28, got 1x3x28x28"). "" for NULL. Owned by the status:
/// valid until octet_status_free(status).
OCTET_API const char* octet_status_message(const octet_status* status);
/// Frees a status returned by any octet function. NULL is allowed (does nothing).
OCTET_API void octet_status_free(octet_status* status);

/* ---- Tensors ----------------------------------------------------------------------------------------------- */

/* Element types. The values are ONNX's TensorProto.DataType codes. */
typedef enum octet_dtype {
  OCTET_DTYPE_UNDEFINED = 0,
  OCTET_DTYPE_FLOAT32 = 1,
  OCTET_DTYPE_UINT8 = 2,
  OCTET_DTYPE_INT8 = 3,
  OCTET_DTYPE_UINT16 = 4,
  OCTET_DTYPE_INT16 = 5,
  OCTET_DTYPE_INT32 = 6,
  OCTET_DTYPE_INT64 = 7,
  OCTET_DTYPE_BOOL = 9,
  OCTET_DTYPE_FLOAT16 = 10,
  OCTET_DTYPE_FLOAT64 = 11,
  OCTET_DTYPE_UINT32 = 12,
  OCTET_DTYPE_UINT64 = 13,
  OCTET_DTYPE_BFLOAT16 = 16
} octet_dtype;

/// Bytes of one element of `dtype`; 0 for OCTET_DTYPE_UNDEFINED or an unknown value. Thread-safe.
OCTET_API size_t octet_dtype_size(octet_dtype dtype);

#define OCTET_MAX_RANK 8

/* A tensor crossing the API. The shape is held by value; `data` points to rank-major packed elements
 * (C order, no padding) and `bytes` is the size of the buffer at `data`. A dim of -1 in a shape the library
 * reports means "not fixed by the model and not set yet" (a symbolic dim such as the batch). */
typedef struct octet_tensor {
  octet_dtype dtype;
  int32_t rank;                   /* 0 (a scalar) .. OCTET_MAX_RANK */
  int64_t shape[OCTET_MAX_RANK];  /* shape[0 .. rank-1] */
  void* data;
  size_t bytes;
} octet_tensor;

/// Frees a buffer the library allocated (an output or image tensor's data left NULL by the caller).
/// NULL is allowed. Thread-safe.
OCTET_API void octet_free(void* data);

/* ---- Options ----------------------------------------------------------------------------------------------- */

typedef enum octet_precision {
  OCTET_PRECISION_FP32 = 0, /* run the model as it is (a QDQ model's int8 parts included, when supported) */
  OCTET_PRECISION_INT8 = 1  /* quantize at load with a calibration table (octet_options_set_calibration_table) */
} octet_precision;

/// Session options. Create, set, pass to octet_session_create*, destroy (the session keeps a copy, so the
/// options may be destroyed or reused right after). Not thread-safe: one thread at a time per options object.
typedef struct octet_options octet_options;

/// Creates options with the defaults: threads 0 (the cores available), fp32, no ISA clamp beyond the process's
/// OCTET_MAX_ISA, no memory limit. `*out` is owned by the caller: octet_options_destroy().
OCTET_API octet_status* octet_options_create(octet_options** out);
/// Frees options. NULL is allowed.
OCTET_API void octet_options_destroy(octet_options* options);
/// Threads per run: 0 = the physical cores available to the process. Sessions with the same thread count share
/// one process-wide worker pool (unless octet_options_set_shared_pool(options, 0)); concurrent runs that find it
/// busy run on their own calling thread.
OCTET_API octet_status* octet_options_set_threads(octet_options* options, int threads);
/// Nonzero (default): the session runs on the process-wide worker pool for its thread count, shared with every
/// other session of that count, so N sessions do not start N sets of workers competing for the same cores.
/// 0: the session starts worker threads of its own (threads - 1 per compiled input shape), so its runs never
/// wait for, or fall back to one thread because of, another session's run. Results are the same either way.
OCTET_API octet_status* octet_options_set_shared_pool(octet_options* options, int shared);
/// FP32 (default) or INT8. INT8 needs a calibration table (octet_options_set_calibration_table; without one,
/// creating the session fails with OCTET_ERROR_INVALID_ARGUMENT): at load the model is quantized in memory as
/// `octet quantize --from-table TABLE` would write it (BatchNormalization folded, u8 activations with the
/// table's parameters, s8 per-channel weights, int32 biases) and octet runs the result with its int8 kernels.
OCTET_API octet_status* octet_options_set_precision(octet_options* options, octet_precision precision);
/// The calibration table file (as written by `octet quantize --table`) used with OCTET_PRECISION_INT8. The path
/// is copied; the file is read when the session is created, and must have a line for every tensor the model
/// quantizes (OCTET_ERROR_BAD_INPUT naming the missing tensor otherwise). Setting one with FP32 is an error.
OCTET_API octet_status* octet_options_set_calibration_table(octet_options* options, const char* path);
/// Clamps the instruction set of octet's own kernels for this session: "scalar", "avx2", "avxvnni", "avx512" or
/// "avx512vnni" (the lower of this and the CPU's / OCTET_MAX_ISA's tier is used). oneDNN's kernels (FP32 Conv)
/// follow only the process-wide OCTET_MAX_ISA: oneDNN's clamp is per process.
OCTET_API octet_status* octet_options_set_max_isa(octet_options* options, const char* isa);
/// Limits the activation memory of the session's runs in flight: each run needs one arena (its activations and
/// kernel workspace, a fixed size per input shape); a run that would take the arenas in use above `bytes` waits
/// for another run to finish, and a run whose one arena is larger than `bytes` fails with
/// OCTET_ERROR_OUT_OF_MEMORY. 0 = no limit (default). Weights and the output buffers are not counted.
OCTET_API octet_status* octet_options_set_memory_limit(octet_options* options, size_t bytes);
/// Input shapes: a session compiles one plan (shapes inferred, memory planned, weights packed for the shape)
/// per distinct set of input shapes it is run with - e.g. a detector at 320x320, then 640x480, then batch 4 -
/// and keeps the `count` most recently used (default 8); a run with a shape not among them compiles again,
/// dropping the least recently used. A plan in use by a run on another thread lives until that run ends.
/// 0 = keep every plan (unbounded).
OCTET_API octet_status* octet_options_set_max_cached_plans(octet_options* options, size_t count);

/// Testing and debugging: `observer(user, index, data, bytes)` is called during every run of the session, on the
/// calling thread, once per input, with the address the engine reads input `index` from and its size, just before
/// the model runs (it is the caller's `data`: inputs are never copied). A language binding's test uses it to show
/// that an array was handed over without a copy. NULL (default) disables it. The observer must not call octet.
typedef void (*octet_input_observer)(void* user, size_t index, const void* data, size_t bytes);
OCTET_API octet_status* octet_options_set_input_observer(octet_options* options, octet_input_observer observer,
                                                         void* user);

/* ---- Session ----------------------------------------------------------------------------------------------- */

/// A loaded, validated model. Opaque.
typedef struct octet_session octet_session;

/// Loads an ONNX model file and validates it (every op must be supported: the message lists all that are not).
/// `options` may be NULL (defaults). On success `*out` is a session the caller owns (octet_session_destroy);
/// on failure `*out` is set to NULL. External data files are resolved in the model's folder. Thread-safe.
OCTET_API octet_status* octet_session_create(const char* model_path, const octet_options* options,
                                             octet_session** out);
/// The same from a model in memory (`size` bytes at `data`; copied as needed, so the buffer may be freed once
/// this returns). Models with external data files are refused. Thread-safe.
OCTET_API octet_status* octet_session_create_from_memory(const void* data, size_t size, const octet_options* options,
                                                         octet_session** out);
/// Frees a session and everything it owns. NULL is allowed. No run may be in progress on it.
OCTET_API void octet_session_destroy(octet_session* session);

/// Number of model inputs / outputs. 0 for NULL.
OCTET_API size_t octet_session_input_count(const octet_session* session);
OCTET_API size_t octet_session_output_count(const octet_session* session);
/// Name of input / output `index`; NULL when out of range. Owned by the session (valid until destroy).
OCTET_API const char* octet_session_input_name(const octet_session* session, size_t index);
OCTET_API const char* octet_session_output_name(const octet_session* session, size_t index);
/// Index of the input / output with this name, or -1.
OCTET_API int64_t octet_session_input_index(const octet_session* session, const char* name);
OCTET_API int64_t octet_session_output_index(const octet_session* session, const char* name);

/// Describes input `index`: dtype, rank and shape (the shape set with octet_session_set_input_shape, else the
/// model's, with -1 for a symbolic dim). `info->data` is set to NULL and `info->bytes` to the bytes a tensor of
/// that shape takes (0 while a dim is -1).
OCTET_API octet_status* octet_session_input_info(octet_session* session, size_t index, octet_tensor* info);
/// Describes output `index` for the current input shapes: when every input shape is known (set, or fixed by the
/// model) the model is compiled for them (once; cached) and the output's exact shape is given; otherwise the
/// model's declared shape with -1 for dims not known yet. `info->bytes` as for inputs.
OCTET_API octet_status* octet_session_output_info(octet_session* session, size_t index, octet_tensor* info);

/// The model's name for dim `dim` of input / output `index` when that dim is symbolic (ONNX dim_param, e.g.
/// "batch"), else NULL (a fixed or unnamed dim, an index or dim out of range, no shape). Owned by the session.
OCTET_API const char* octet_session_input_dim_name(const octet_session* session, size_t index, size_t dim);
OCTET_API const char* octet_session_output_dim_name(const octet_session* session, size_t index, size_t dim);

/// Sets the shape of input `index` (binding symbolic dims such as the batch) and, when all input shapes are then
/// known, compiles the model for them so that the first run does not pay for it. Fails with a message naming the
/// expected shape when it does not fit the model. Runs still take their shapes from their input tensors (a run
/// with other shapes compiles and caches a plan for those); this sets what the info queries report.
OCTET_API octet_status* octet_session_set_input_shape(octet_session* session, size_t index, const int64_t* shape,
                                                      size_t rank);

/// A model metadata_props value (e.g. "labels": class names, one per line), or NULL when the model has no such
/// key. Owned by the session (valid until destroy).
OCTET_API const char* octet_session_metadata(const octet_session* session, const char* key);

/// Runs the model. `inputs[i]` is input i (model order, num_inputs == input count): its dtype, shape and data are
/// read in place, never copied; `bytes` must cover the shape. `outputs[i]` receives output i (num_outputs ==
/// output count): when the caller sets `data` (and `bytes`, the buffer size), the output is written there and the
/// call fails with OCTET_ERROR_INVALID_ARGUMENT if the buffer is too small; when `data` is NULL the library
/// allocates it (free with octet_free). Either way dtype, rank, shape and bytes (the output's size) are filled in.
/// Outputs are written once, from the run's arena straight into the buffer (caller's or allocated): no second copy.
/// On failure, buffers the library allocated in this call are freed and their `data` reset to NULL.
/// Thread-safe: any number of threads may run one session at once, each with its own inputs and outputs.
OCTET_API octet_status* octet_session_run(octet_session* session, const octet_tensor* inputs, size_t num_inputs,
                                          octet_tensor* outputs, size_t num_outputs);

/// One node of a session's compiled graph (after the passes), as `octet inspect` prints it. Every string is
/// set ("" when empty): `fused` lists the ops fused into the node, `precision` is "fp32", "int8", ..., `kernel` the
/// kernel that runs it, `inputs` / `outputs` the shapes, and `note` says why a node of a quantized model stayed
/// float, or that its int8 kernel is a lower ISA tier's than the session's.
typedef struct octet_node_info {
  const char* name;
  const char* op;
  const char* fused;
  const char* precision;
  const char* kernel;
  const char* inputs;
  const char* outputs;
  const char* note;
} octet_node_info;

/// Describes the graph the session runs for its current input shapes (set with octet_session_set_input_shape,
/// else the model's with symbolic dims set to 1), compiling it if needed: `*nodes` receives `*count` entries in
/// run order, in one buffer (the strings included) that the caller frees with octet_free(*nodes). Thread-safe.
OCTET_API octet_status* octet_session_describe(octet_session* session, octet_node_info** nodes, size_t* count);

/* ---- Quantization ------------------------------------------------------------------------------------------ */

/* Post-training static quantization to a QDQ model, the same function as `octet quantize` (docs/quantization.md):
 * create a quantizer for a float model, add calibration samples (float batches of the model's input, or a folder
 * of images / .pb tensors), then save the QDQ model (and optionally the calibration table). */

/// Quantizer options; a zero-initialised struct gives `octet quantize`'s defaults.
typedef struct octet_quantize_options {
  const char* method;            /* "mse" (NULL: the default), "minmax", "percentile" or "entropy" */
  double percentile;             /* method "percentile": in (50, 100]; 0: 99.99 */
  int64_t samples;               /* calibrate on at most this many samples; 0: all that are added */
  int weight_bits;               /* 8 (0: the default) or 7 (ONNX Runtime's reduce_range) */
  const char* const* exclude;    /* names of nodes to keep FP32 (num_exclude of them) */
  size_t num_exclude;
  int threads;                   /* threads of the calibration runs; 0: the cores available */
} octet_quantize_options;

typedef struct octet_quantizer octet_quantizer;

/// Called after each calibration batch with the samples done and the samples expected (>= done).
typedef void (*octet_progress_fn)(void* user, int64_t done, int64_t total);

/// Loads a float model, folds BatchNormalization and plans which tensors get Q/DQ. `options` may be NULL. On
/// failure `*out` is NULL. The caller owns `*out` (octet_quantizer_destroy). Thread-safe; one quantizer is used
/// from one thread at a time.
OCTET_API octet_status* octet_quantizer_create(const char* model_path, const octet_quantize_options* options,
                                               octet_quantizer** out);
/// Frees a quantizer. NULL is allowed.
OCTET_API void octet_quantizer_destroy(octet_quantizer* quantizer);
/// Adds one float32 batch [B, ...] of the model's input (read during the call only). With a samples limit, rows
/// past it are dropped. OCTET_ERROR_BAD_INPUT names the input on a dtype or shape mismatch.
OCTET_API octet_status* octet_quantizer_add(octet_quantizer* quantizer, const octet_tensor* batch);
/// Adds every .png/.jpg/.jpeg/.pb file under `dir` (sorted by path, spread evenly when there are more than the
/// samples limit), images preprocessed as `octet infer` does for the model. `progress` may be NULL.
OCTET_API octet_status* octet_quantizer_add_folder(octet_quantizer* quantizer, const char* dir,
                                                   octet_progress_fn progress, void* user);
/// Samples added so far; 0 for NULL.
OCTET_API int64_t octet_quantizer_samples(const octet_quantizer* quantizer);
/// Chooses each tensor's range from what was added, writes the QDQ model to `output_path` and, when `table_path`
/// is not NULL, the calibration table (a text file octet_options_set_calibration_table and `octet quantize
/// --from-table` read). Fails with OCTET_ERROR_INVALID_ARGUMENT when no sample was added.
OCTET_API octet_status* octet_quantizer_save(octet_quantizer* quantizer, const char* output_path,
                                             const char* table_path);
/// Writes the QDQ model with the parameters of an existing table instead (no samples needed), as
/// `octet quantize --from-table` does.
OCTET_API octet_status* octet_quantizer_save_from_table(octet_quantizer* quantizer, const char* table_path,
                                                        const char* output_path);

/* ---- Images ------------------------------------------------------------------------------------------------ */

/// Decodes a JPEG or PNG file into a [1, C, H, W] float32 tensor for image input `index` of the session, with
/// the same preprocessing as `octet infer` without flags: resize the shorter side (metadata "octet.resize", else
/// H / 0.875), centre-crop to H x W (unless metadata "octet.crop" is "0"), grayscale for C = 1 or RGB for C = 3,
/// then (x / 255 - mean) / std (metadata "octet.mean" / "octet.std", else ImageNet's for RGB, 0 / 1 for gray).
/// C, H, W come from the input's shape (set or fixed by the model). The output buffer follows octet_session_run's
/// rule: the caller's `out->data` of `out->bytes` bytes (e.g. one row of a batch), else allocated (octet_free).
/// Thread-safe.
OCTET_API octet_status* octet_image_load(octet_session* session, size_t index, const char* path, octet_tensor* out);
/// The same from an encoded image in memory (`size` bytes at `data`; read only during the call).
OCTET_API octet_status* octet_image_decode(octet_session* session, size_t index, const void* data, size_t size,
                                           octet_tensor* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OCTET_OCTET_H_ */
