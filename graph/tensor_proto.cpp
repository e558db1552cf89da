// TensorProto decoding/encoding shared by the model loader and the .pb reader/writer (graph/onnx_tensor.h).
#include "graph/tensor_proto.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/error.h"
#include "graph/onnx_tensor.h"
#include "onnx/onnx.pb.h"

namespace octet {

namespace fs = std::filesystem;

// One read() per chunk into a buffer sized from fstat: no istreambuf_iterator (a function call per byte) and no
// doubling growth (which left a 26 MB model in a 32 MB buffer and copied it ~log2(n) times). Files whose size
// fstat does not know (pipes, /proc) grow the buffer as they are read.
std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": cannot open file (it is a directory)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open file (" + std::strerror(errno) + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  std::string bytes(sized ? size_t(st.st_size) : size_t(1) << 16, '\0');
  size_t got = 0;
  while (true) {
    if (got == bytes.size()) {
      if (sized) {  // the file may have grown since fstat: one byte more tells
        char probe;
        const ssize_t r = ::read(fd, &probe, 1);
        if (r <= 0) break;
        bytes.push_back(probe);
        ++got;
      }
      bytes.resize(bytes.size() * 2);
    }
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": read error (" + std::strerror(errno) + ")");
    }
    if (r == 0) break;
    got += size_t(r);
  }
  bytes.resize(got);
  if (bytes.capacity() > got + (got >> 3)) bytes.shrink_to_fit();  // a grown buffer: give the slack back
  return bytes;
}

DType dtype_from_onnx(int32_t t, const std::string& what) {
  switch (t) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 10: case 11: case 12: case 13: case 16:
      return DType(t);
    case 0: throw Error(what + ": data type is not set");
    case 8: throw Unsupported(what + ": string tensors are not supported");
    case 14: case 15: throw Unsupported(what + ": complex tensors are not supported");
    default: throw Unsupported(what + ": data type " + std::to_string(t) + " is not supported");
  }
}

namespace {

// Element count of `dims`, or an Error when a dim is negative or the count would not fit in memory anyway
// (a corrupt file must not make us allocate petabytes: the data-size check below needs a sane count).
int64_t checked_numel(const onnx::TensorProto& p, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : p.dims()) {
    if (d < 0) throw Error(what + ": negative dimension " + std::to_string(d));
    if (d != 0 && n > (int64_t(1) << 48) / d) throw Error(what + ": dims are implausibly large");
    n *= d;
  }
  return n;
}

std::string dims_str(const onnx::TensorProto& p) {
  Shape s(p.dims().begin(), p.dims().end());
  return shape_str(s);
}

[[noreturn]] void size_mismatch(const std::string& what, const onnx::TensorProto& p, DType dt, size_t got,
                                const char* unit) {
  throw Error(what + ": data holds " + std::to_string(got) + " " + unit + ", but shape " + dims_str(p) + " of " +
              dtype_name(dt) + " needs " +
              std::to_string(unit[0] == 'b' ? checked_numel(p, what) * int64_t(dtype_size(dt))
                                            : checked_numel(p, what)));
}

// Copies typed-field values into `dst` converting each to the element type T (int32_data holds the bit
// patterns of f16/bf16 and the values of the small integer types and bool).
template <class T, class Field>
void copy_typed(const Field& src, void* dst) {
  T* out = static_cast<T*>(dst);
  int64_t i = 0;
  for (auto v : src) out[i++] = static_cast<T>(v);
}

// The bytes of an external data file: `location` relative to base_dir, never outside it.
std::string read_external(const onnx::TensorProto& p, const TensorSource& src) {
  std::map<std::string, std::string> kv;
  for (const auto& e : p.external_data()) kv[e.key()] = e.value();
  const std::string loc = kv["location"];
  if (loc.empty()) throw Error(src.what + ": external data without a 'location'");
  if (src.base_dir.empty()) throw Error(src.what + ": external data ('" + loc + "') is not allowed here");
  const fs::path rel(loc);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory())
    throw Error(src.what + ": external data location '" + loc + "' is an absolute path; it must be relative to " +
                "the model's folder");
  for (const auto& part : rel)
    if (part == "..")
      throw Error(src.what + ": external data location '" + loc + "' escapes the model's folder ('..')");
  // Symlinks may still point outside: compare the resolved paths too.
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(src.base_dir), ec);
  if (!base.has_filename()) base = base.parent_path();  // "dir/" -> "dir", so the prefix test compares names
  const fs::path full = fs::weakly_canonical(fs::path(src.base_dir) / rel, ec);
  if (ec) throw Error(src.what + ": external data file '" + loc + "' cannot be resolved (" + ec.message() + ")");
  auto [b_end, f_it] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b_end != base.end())
    throw Error(src.what + ": external data location '" + loc + "' resolves outside the model's folder");

  auto parse_num = [&](const char* key) -> int64_t {
    auto it = kv.find(key);
    if (it == kv.end() || it->second.empty()) return -1;
    try {
      size_t used = 0;
      long long v = std::stoll(it->second, &used);
      if (used != it->second.size() || v < 0) throw std::invalid_argument(key);
      return v;
    } catch (const std::exception&) {
      throw Error(src.what + ": external data '" + key + "' is not a non-negative number: '" + it->second + "'");
    }
  };
  const int64_t offset = parse_num("offset");
  const int64_t length = parse_num("length");

  if (fs::exists(full, ec) && !fs::is_regular_file(full, ec))
    throw Error(src.what + ": external data location '" + loc + "' is not a regular file");
  std::ifstream f(full, std::ios::binary);
  if (!f)
    throw Error(src.what + ": cannot open external data file '" + full.string() + "' (" + std::strerror(errno) + ")");
  f.seekg(0, std::ios::end);
  const int64_t file_size = int64_t(f.tellg());
  const int64_t start = offset < 0 ? 0 : offset;
  const int64_t len = length < 0 ? file_size - start : length;
  if (start > file_size || len < 0 || start + len > file_size)
    throw Error(src.what + ": external data file '" + loc + "' has " + std::to_string(file_size) +
                " bytes, too few for offset " + std::to_string(start) + " and length " + std::to_string(len));
  std::string bytes(size_t(len), '\0');
  f.seekg(start);
  f.read(bytes.data(), len);
  if (!f) throw Error(src.what + ": read error in external data file '" + loc + "'");
  return bytes;
}

}  // namespace

namespace {

// `lifted`: the raw_data bytes when the loader took that field out of `p` before parsing (zero-copy load), else
// null and p.raw_data() is used. Either way the same precedence: external data, then raw bytes, then typed fields.
Tensor from_proto(const onnx::TensorProto& p, const std::string_view* lifted, const TensorSource& src,
                  const std::function<std::shared_ptr<const void>(std::string_view)>* borrow) {
  const DType dt = dtype_from_onnx(p.data_type(), src.what);
  if (p.has_segment()) throw Unsupported(src.what + ": segmented tensors are not supported");
  const int64_t n = checked_numel(p, src.what);
  const size_t want_bytes = size_t(n) * dtype_size(dt);

  // Raw bytes (little endian, as x86 stores them): raw_data or an external file.
  const bool external = p.data_location() == onnx::TensorProto_DataLocation_EXTERNAL;
  if (external || lifted || p.has_raw_data()) {
    std::string ext;
    const std::string_view raw = external ? std::string_view(ext = read_external(p, src))
                                          : lifted ? *lifted : std::string_view(p.raw_data());
    if (raw.size() != want_bytes) size_mismatch(src.what, p, dt, raw.size(), "bytes");
    if (lifted && !external && borrow && *borrow && dtype_size(dt) == 1 && want_bytes > 0)
      if (std::shared_ptr<const void> owner = (*borrow)(raw))
        return Tensor(dt, Shape(p.dims().begin(), p.dims().end()), raw.data(), Tensor::Borrowed{std::move(owner)});
    Tensor t(dt, Shape(p.dims().begin(), p.dims().end()), Tensor::Uninitialized{});  // every byte copied below
    if (want_bytes) std::memcpy(t.data(), raw.data(), want_bytes);
    return t;
  }

  // Typed fields: which one holds the data depends on the type (see onnx.proto's TensorProto comments).
  auto check = [&](int count) {
    if (int64_t(count) != n) size_mismatch(src.what, p, dt, size_t(count), "values");
  };
  // Each case below checks the count first and then writes all n elements (or throws).
  Tensor t(dt, Shape(p.dims().begin(), p.dims().end()), Tensor::Uninitialized{});
  void* d = t.data();
  switch (dt) {
    case DType::f32: check(p.float_data_size()); copy_typed<float>(p.float_data(), d); break;
    case DType::f64: check(p.double_data_size()); copy_typed<double>(p.double_data(), d); break;
    case DType::i64: check(p.int64_data_size()); copy_typed<int64_t>(p.int64_data(), d); break;
    case DType::u32: check(p.uint64_data_size()); copy_typed<uint32_t>(p.uint64_data(), d); break;
    case DType::u64: check(p.uint64_data_size()); copy_typed<uint64_t>(p.uint64_data(), d); break;
    case DType::i32: check(p.int32_data_size()); copy_typed<int32_t>(p.int32_data(), d); break;
    case DType::i16: check(p.int32_data_size()); copy_typed<int16_t>(p.int32_data(), d); break;
    case DType::u16: case DType::f16: case DType::bf16:
      // f16/bf16: each int32 holds the 16-bit pattern.
      check(p.int32_data_size()); copy_typed<uint16_t>(p.int32_data(), d); break;
    case DType::i8: check(p.int32_data_size()); copy_typed<int8_t>(p.int32_data(), d); break;
    case DType::u8: check(p.int32_data_size()); copy_typed<uint8_t>(p.int32_data(), d); break;
    case DType::boolean: {
      check(p.int32_data_size());
      uint8_t* out = static_cast<uint8_t*>(d);
      for (int i = 0; i < p.int32_data_size(); ++i) out[i] = p.int32_data(i) != 0;
      break;
    }
    default: throw Unsupported(src.what + std::string(": data type ") + dtype_name(dt) + " is not supported");
  }
  return t;
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const TensorSource& src) {
  return from_proto(p, nullptr, src, nullptr);
}

Tensor tensor_from_proto(const onnx::TensorProto& p, std::string_view raw_data, const TensorSource& src,
                         const std::function<std::shared_ptr<const void>(std::string_view)>& borrow) {
  return from_proto(p, &raw_data, src, &borrow);
}

void tensor_to_proto(const TensorView& t, const std::string& name, onnx::TensorProto& p) {
  p.Clear();
  p.set_name(name);
  p.set_data_type(int32_t(t.dtype));
  for (int64_t d : t.shape) p.add_dims(d);
  std::string* raw = p.mutable_raw_data();
  const size_t es = dtype_size(t.dtype);
  raw->resize(t.bytes());
  if (t.bytes() == 0) return;
  if (t.layout == Layout::plain || t.shape.size() != 4) {
    std::memcpy(raw->data(), t.data, t.bytes());
    return;
  }
  // nhwc in memory, written in logical NCHW order: element (n,c,h,w) sits at ((n*H + h)*W + w)*C + c.
  const int64_t N = t.shape[0], C = t.shape[1], H = t.shape[2], W = t.shape[3];
  const char* in = static_cast<const char*>(t.data);
  char* out = raw->data();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          std::memcpy(out + (((n * C + c) * H + h) * W + w) * es, in + (((n * H + h) * W + w) * C + c) * es, es);
}

Tensor read_tensor_pb(const std::string& path, std::string* name_out) {
  const std::string bytes = read_file_bytes(path);
  if (bytes.size() > size_t(std::numeric_limits<int>::max()))
    throw Error(path + ": file is larger than 2 GB, which a TensorProto cannot be");
  onnx::TensorProto p;
  if (!p.ParseFromArray(bytes.data(), int(bytes.size())))
    throw Error(path + ": not a valid TensorProto (protobuf parse failed; truncated?)");
  if (name_out) *name_out = p.name();
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = fs::current_path();
  return tensor_from_proto(p, TensorSource{path, dir.string()});
}

void write_tensor_pb(const std::string& path, const TensorView& t, const std::string& name) {
  if (dtype_size(t.dtype) == 0) throw Error(path + ": cannot write a tensor of type " + dtype_name(t.dtype));
  onnx::TensorProto p;
  tensor_to_proto(t, name, p);
  std::string bytes;
  if (!p.SerializeToString(&bytes)) throw Error(path + ": cannot encode tensor '" + name + "'");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot create file (" + std::strerror(errno) + ")");
  f.write(bytes.data(), std::streamsize(bytes.size()));
  f.close();
  if (!f) throw Error(path + ": write error");
}

}  // namespace octet
