// ModelProto -> Graph. The loader checks structure (opsets, tensor sizes, that every name a node reads is
// defined) and copies everything into the IR; op semantics are shape inference's job.
#include "graph/onnx_import.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <set>

#include "graph/onnx_tensor.h"
#include "graph/shape_inference.h"
#include "onnx/onnx.pb.h"

namespace octet {

namespace {

// Default-domain opsets octet reads (graph/shape_inference.h): older models need the legacy broadcast/attribute
// forms; opsets past kCheckedOpset load, and shape inference refuses only the ops whose semantics changed.
constexpr int64_t kMaxOpset = kNewestKnownOpset;

class Importer {
 public:
  Importer(const std::string& name, const std::string& base_dir) : name_(name), base_dir_(base_dir) {
    g_.path = name;
  }

  // `m` is consumed: each initializer's raw bytes are freed once its Tensor is built, so the load holds one copy
  // of the weights at a time (plus the one being converted), not the message's and the graph's side by side.
  Graph run(onnx::ModelProto& m) {
    if (!m.has_graph()) fail("not a valid ONNX model (no graph)");
    g_.producer = m.producer_name();
    for (const auto& kv : m.metadata_props()) g_.metadata[kv.key()] = kv.value();
    read_opsets(m);
    read_initializers(*m.mutable_graph());
    const onnx::GraphProto& gp = m.graph();
    read_inputs(gp);
    read_nodes(gp);
    for (const auto& vi : gp.value_info()) read_value_info(vi, /*required=*/false);
    read_outputs(gp);
    return std::move(g_);
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw Error(name_ + ": " + msg); }

  void read_opsets(const onnx::ModelProto& m) {
    for (const auto& op : m.opset_import()) {
      const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
      if (domain.empty() && (op.version() < kMinOpset || op.version() > kMaxOpset))
        throw Unsupported(name_ + ": default-domain opset " + std::to_string(op.version()) +
                          " is not supported (octet supports opsets " + std::to_string(kMinOpset) + " to " +
                          std::to_string(kMaxOpset) + ")");
      g_.opsets[domain] = op.version();
    }
    if (!g_.opsets.count("")) {
      for (const auto& n : m.graph().node())
        if (n.domain().empty() || n.domain() == "ai.onnx")
          fail("the model has no opset_import for the default ONNX domain (IR version " +
               std::to_string(m.ir_version()) + " is too old; octet supports opsets " + std::to_string(kMinOpset) +
               " to " + std::to_string(kMaxOpset) + ")");
    }
  }

  void read_initializers(onnx::GraphProto& gp) {
    size_t index = 0;
    for (auto& t : *gp.mutable_initializer()) {
      const std::string what = name_ + ": initializer '" + t.name() + "'";
      if (t.name().empty()) fail("an initializer has no name");
      if (g_.find_value(t.name()) >= 0) fail("initializer '" + t.name() + "' is defined twice");
      const std::optional<std::string_view>* raw = lifted_ && index < lifted_->size() ? &(*lifted_)[index] : nullptr;
      ++index;
      g_.add_constant(t.name(), std::make_shared<const Tensor>(
                                    raw && raw->has_value() ? tensor_from_proto(t, **raw, {what, base_dir_}, borrow_)
                                                            : tensor_from_proto(t, {what, base_dir_})));
      // Swap, not clear(): clear() keeps the string's capacity. (Typed-field data, used by small tensors only,
      // stays until the message goes.)
      if (t.has_raw_data()) std::string().swap(*t.mutable_raw_data());
    }
    if (gp.sparse_initializer_size() > 0)
      throw Unsupported(name_ + ": sparse initializers are not supported");
  }

  // Copies dtype and dims of a ValueInfoProto onto its value. Non-tensor types (sequence, map, optional) are
  // Unsupported for graph inputs/outputs (`required`), ignored for intermediate value_info.
  void apply_type(int id, const onnx::ValueInfoProto& vi, bool required) {
    const std::string what = name_ + ": value '" + vi.name() + "'";
    if (!vi.has_type() || !vi.type().has_tensor_type()) {
      // A missing type is left to shape inference; a non-tensor one octet cannot run.
      if (!required || !vi.has_type()) return;
      throw Unsupported(what + " is not a tensor (sequence, map and optional types are not supported)");
    }
    const auto& tt = vi.type().tensor_type();
    Value& v = g_.values[id];
    if (tt.has_elem_type()) v.dtype = dtype_from_onnx(tt.elem_type(), what);
    if (!tt.has_shape()) return;
    v.has_shape = true;
    v.dims.clear();
    for (const auto& d : tt.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) {
        if (d.dim_value() < 0)
          fail("value '" + vi.name() + "' has a negative dimension " + std::to_string(d.dim_value()));
        dim.value = d.dim_value();
      } else if (d.has_dim_param()) {
        dim.symbol = d.dim_param();
      }
      v.dims.push_back(dim);
    }
  }

  void read_inputs(const onnx::GraphProto& gp) {
    for (const auto& vi : gp.input()) {
      if (vi.name().empty()) fail("a graph input has no name");
      int id = g_.find_value(vi.name());
      if (id >= 0) {
        // An input that is also an initializer is a constant with a default: octet treats it as constant
        // (the usual case for models exported with IR < 4, where every weight is listed as an input).
        if (!g_.values[id].constant) fail("graph input '" + vi.name() + "' is listed twice");
        continue;
      }
      id = g_.add_value(vi.name());
      apply_type(id, vi, /*required=*/true);
      g_.inputs.push_back(id);
    }
  }

  Attribute read_attribute(const onnx::AttributeProto& a, const std::string& node_where) {
    using AP = onnx::AttributeProto;
    Attribute r;
    int type = a.type();
    if (type == AP::UNDEFINED) {
      // Very old exporters left `type` unset: the field that is present tells the kind.
      type = a.has_f() ? AP::FLOAT : a.has_i() ? AP::INT : a.has_s() ? AP::STRING : a.has_t() ? AP::TENSOR
           : a.has_g() ? AP::GRAPH : a.floats_size() ? AP::FLOATS : a.ints_size() ? AP::INTS
           : a.strings_size() ? AP::STRINGS : AP::UNDEFINED;
    }
    switch (type) {
      case AP::FLOAT: r.kind = Attribute::Kind::f; r.f = a.f(); break;
      case AP::INT: r.kind = Attribute::Kind::i; r.i = a.i(); break;
      case AP::STRING: r.kind = Attribute::Kind::s; r.s = a.s(); break;
      case AP::TENSOR:
        r.kind = Attribute::Kind::t;
        r.t = std::make_shared<const Tensor>(
            tensor_from_proto(a.t(), {node_where + ": attribute '" + a.name() + "'", base_dir_}));
        break;
      case AP::FLOATS: r.kind = Attribute::Kind::floats; r.floats.assign(a.floats().begin(), a.floats().end()); break;
      case AP::INTS: r.kind = Attribute::Kind::ints; r.ints.assign(a.ints().begin(), a.ints().end()); break;
      case AP::STRINGS:
        r.kind = Attribute::Kind::strings;
        r.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case AP::GRAPH: case AP::GRAPHS: r.kind = Attribute::Kind::graph; break;
      default: r.kind = Attribute::Kind::undefined; break;  // sparse tensors, type protos: ops reject them
    }
    return r;
  }

  void read_nodes(const onnx::GraphProto& gp) {
    // Pass 1: every node and the values it produces, so pass 2 can resolve inputs whatever the file order.
    for (int i = 0; i < gp.node_size(); ++i) {
      const onnx::NodeProto& np = gp.node(i);
      Node n;
      n.op_type = np.op_type();
      n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(i) : np.name();
      n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
      const std::string where = name_ + ": node '" + n.name + "' (" + n.op_type + ")";
      if (n.op_type.empty()) fail("node " + std::to_string(i) + " ('" + n.name + "') has no op_type");
      for (const auto& a : np.attribute()) {
        if (a.name().empty()) throw Error(where + ": an attribute has no name");
        n.attrs[a.name()] = read_attribute(a, where);
      }
      for (const std::string& out : np.output()) {
        if (out.empty()) {  // an omitted optional output
          n.outputs.push_back(-1);
          continue;
        }
        int existing = g_.find_value(out);
        if (existing >= 0) {
          const Value& v = g_.values[existing];
          std::string by = v.producer >= 0 ? "node '" + g_.nodes[v.producer].name + "'"
                         : v.constant ? std::string("an initializer") : std::string("a graph input");
          throw Error(where + ": output '" + out + "' is already defined by " + by);
        }
        n.outputs.push_back(g_.add_value(out));
      }
      g_.add_node(std::move(n));
    }
    // Pass 2: inputs.
    for (int i = 0; i < gp.node_size(); ++i) {
      for (const std::string& in : gp.node(i).input()) {
        if (in.empty()) {  // an omitted optional input
          g_.nodes[i].inputs.push_back(-1);
          continue;
        }
        int id = g_.find_value(in);
        if (id < 0)
          throw Error(g_.where(i) + ": input '" + in +
                      "' is not a graph input, an initializer or an output of any node");
        g_.nodes[i].inputs.push_back(id);
      }
    }
  }

  void read_value_info(const onnx::ValueInfoProto& vi, bool required) {
    int id = g_.find_value(vi.name());
    if (id < 0 || g_.values[id].constant) return;  // describes nothing we keep, or a constant's exact shape
    apply_type(id, vi, required);
  }

  void read_outputs(const onnx::GraphProto& gp) {
    for (const auto& vi : gp.output()) {
      int id = g_.find_value(vi.name());
      if (id < 0)
        fail("graph output '" + vi.name() + "' is not produced by any node, nor a graph input or initializer");
      read_value_info(vi, /*required=*/true);
      g_.outputs.push_back(id);
    }
  }

  std::string name_, base_dir_;
  Graph g_;

 public:
  // The raw_data of initializer i when the loader lifted it out of the message (lift_raw_data), else null.
  const std::vector<std::optional<std::string_view>>* lifted_ = nullptr;
  // Set when the lifted bytes lie in a mapping that may outlive the load: 1-byte tensors borrow them.
  std::function<std::shared_ptr<const void>(std::string_view)> borrow_;
};

}  // namespace

namespace {

// ---- Lifting the initializers' raw_data out before parsing --------------------------------------------------
//
// Parsing copies every bytes field into a std::string: the weights would be copied file -> message -> Tensor,
// and each copy lands in fresh pages the kernel must fault in and clear (a third of ResNet-50 INT8's creation
// was page faults). So the loader walks the protobuf wire format of the three levels that lead to the weights -
// ModelProto.graph (field 7) > GraphProto.initializer (field 5) > TensorProto.raw_data (field 9), numbers from
// onnx.proto - and copies everything else (a few KB) into a smaller message without those raw_data fields,
// re-encoding the enclosing lengths. raws[i] keeps initializer i's bytes in place (a view into the caller's
// buffer); a Tensor copies them once. A repeated raw_data keeps the last, as protobuf does. Anything the walker
// does not expect (a malformed length, a group) makes it give up: the buffer is then parsed as it is, with the
// same result and errors as before.

struct WireField {
  uint64_t number = 0;
  int type = 0;
  std::string_view bytes;    // the whole field, key included
  std::string_view payload;  // a length-delimited field's contents
};

bool read_varint(const char*& p, const char* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const auto b = uint8_t(*p++);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

bool next_field(const char*& p, const char* end, WireField& f) {
  const char* start = p;
  uint64_t key = 0, v = 0;
  if (!read_varint(p, end, key)) return false;
  f.number = key >> 3;
  f.type = int(key & 7);
  switch (f.type) {
    case 0: if (!read_varint(p, end, v)) return false; break;
    case 1: if (end - p < 8) return false; p += 8; break;
    case 5: if (end - p < 4) return false; p += 4; break;
    case 2:
      if (!read_varint(p, end, v) || v > uint64_t(end - p)) return false;
      f.payload = std::string_view(p, size_t(v));
      p += v;
      break;
    default: return false;  // groups (3, 4) are not used by onnx.proto; 6, 7 are invalid
  }
  f.bytes = std::string_view(start, size_t(p - start));
  return true;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

// level 0: ModelProto, 1: GraphProto, 2: TensorProto (an initializer). Appends the rewritten message to out.
bool lift_level(std::string_view in, int level, std::string& out, std::vector<std::optional<std::string_view>>& raws) {
  const char* p = in.data();
  const char* end = p + in.size();
  WireField f;
  while (p < end) {
    if (!next_field(p, end, f)) return false;
    if (level == 2 && f.number == 9 && f.type == 2) {
      raws.back() = f.payload;
      continue;
    }
    const bool descend = f.type == 2 && ((level == 0 && f.number == 7) || (level == 1 && f.number == 5));
    if (!descend) {
      out.append(f.bytes);
      continue;
    }
    if (level == 1) raws.emplace_back();
    std::string inner;
    if (!lift_level(f.payload, level + 1, inner, raws)) return false;
    put_varint(out, f.number << 3 | 2);
    put_varint(out, inner.size());
    out += inner;
  }
  return true;
}

void parse_model(const void* data, size_t size, const std::string& name, onnx::ModelProto& m) {
  if (size == 0) throw Error(name + ": file is empty, not an ONNX model");
  // One protobuf message cannot exceed 2 GB; bigger models keep their weights in external data files.
  if (size > size_t(std::numeric_limits<int>::max()))
    throw Error(name + ": file is larger than 2 GB; such models must use external data");
  if (!m.ParseFromArray(data, int(size)))
    throw Error(name + ": not a valid ONNX model (protobuf parse failed; truncated?)");
}

// The owner of one borrowed tensor's bytes in the model mapping: keeps the mapping alive, and when the tensor
// goes (its weights are packed, engine/session.cpp) gives back the whole pages it covered (MADV_DONTNEED on a
// read-only private file mapping drops them from this process; the page cache keeps them), so the resident
// mapping shrinks while the packed weights grow instead of both being resident at once.
// Initializers smaller than this are copied: a few scalars (zero points) must not keep the mapping alive.
constexpr size_t kMinBorrowBytes = 4096;

// The whole pages inside [begin, end) of the read-only mapping, dropped from this process.
void give_back_pages(const char* begin, const char* end) {
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (uintptr_t(begin) + page - 1) / page * page, hi = uintptr_t(end) / page * page;
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

struct MappedBytes {
  std::shared_ptr<const void> mapping;
  const char* begin;
  const char* end;
  ~MappedBytes() { give_back_pages(begin, end); }
};

// Parses the model in [data, size) - which must stay valid until this returns - with the weights lifted out.
// `mapping`: set when [data, size) is a mapping that may outlive the load (it owns it): 1-byte initializers then
// borrow their bytes from it instead of being copied.
Graph load_lifted(const void* data, size_t size, const std::string& name, const std::string& base_dir,
                  std::shared_ptr<const void> mapping = nullptr) {
  onnx::ModelProto m;
  std::string rest;
  std::vector<std::optional<std::string_view>> raws;
  const bool lifted = size > 0 && size <= size_t(std::numeric_limits<int>::max()) &&
                      lift_level(std::string_view(static_cast<const char*>(data), size), 0, rest, raws);
  if (lifted && !rest.empty())
    parse_model(rest.data(), rest.size(), name, m);
  else
    parse_model(data, size, name, m);
  Importer importer(name, base_dir);
  if (lifted) importer.lifted_ = &raws;
  std::vector<std::pair<const char*, const char*>> borrowed;
  if (lifted && mapping)
    importer.borrow_ = [&](std::string_view raw) -> std::shared_ptr<const void> {
      if (raw.size() < kMinBorrowBytes) return nullptr;  // copied
      borrowed.emplace_back(raw.data(), raw.data() + raw.size());
      return std::make_shared<const MappedBytes>(MappedBytes{mapping, raw.data(), raw.data() + raw.size()});
    };
  Graph g = importer.run(m);
  if (!borrowed.empty()) {
    // Everything else in the mapping (the float data, already copied; the message itself) is not read again:
    // give its whole pages back now rather than when the last borrowed tensor goes.
    std::sort(borrowed.begin(), borrowed.end());
    const char* from = static_cast<const char*>(data);
    for (const auto& [b, e] : borrowed) {
      give_back_pages(from, b);
      from = std::max(from, e);
    }
    give_back_pages(from, static_cast<const char*>(data) + size);
  }
  return g;
}

}  // namespace

Graph load_onnx_buffer(const void* data, size_t size, const std::string& name, const std::string& base_dir) {
  return load_lifted(data, size, name, base_dir);
}

Graph load_onnx(const std::string& path, bool borrow) {
  // A regular file is mapped read-only rather than read(): reading copies every byte into fresh anonymous pages,
  // which the kernel must fault in and clear first, while mapping shares the page cache's pages (faulted in
  // batches by MAP_POPULATE, nothing cleared, nothing copied); with the raw_data lifted out (load_lifted) the
  // weights are then copied once, from the page cache into the Tensors. Anything else (pipes, /proc, a failed
  // mmap) takes the read() path. The mapping is private and read-only, so the file is never written; like any
  // mmap, a file truncated by another process during the load would fault - as ONNX Runtime's external-data
  // mapping would. At most two copies of the weights exist at any time: the file's and the graph's; with
  // `borrow`, the int8 weights have only the file's until they are packed (MappedBytes).
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::current_path();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  void* map = MAP_FAILED;
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      uint64_t(st.st_size) <= uint64_t(std::numeric_limits<int>::max()))
    map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (fd >= 0) ::close(fd);  // a mapping outlives its descriptor
  if (map != MAP_FAILED) {
    const size_t n = size_t(st.st_size);
    std::shared_ptr<const void> mapping(map, [n](const void* p) { ::munmap(const_cast<void*>(p), n); });
    return load_lifted(map, n, path, dir.string(), borrow ? mapping : nullptr);
  }
  const std::string bytes = read_file_bytes(path);  // also the one place that reports open errors
  return load_lifted(bytes.data(), bytes.size(), path, dir.string());
}

}  // namespace octet
