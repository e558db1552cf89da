// ModelProto -> Graph. The loader checks structure (opsets, tensor sizes, that every name a node reads is
// defined) and copies everything into the IR; op semantics are shape inference's job.
#include "graph/onnx_import.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <memory>
#include <set>

#include "graph/onnx_tensor.h"
#include "onnx/onnx.pb.h"

namespace octet {

namespace {

// Default-domain opsets octet implements; older models need the legacy broadcast/attribute forms, newer
// ones ops whose semantics we have not checked.
constexpr int64_t kMinOpset = 7;
constexpr int64_t kMaxOpset = 17;

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
    for (auto& t : *gp.mutable_initializer()) {
      const std::string what = name_ + ": initializer '" + t.name() + "'";
      if (t.name().empty()) fail("an initializer has no name");
      if (g_.find_value(t.name()) >= 0) fail("initializer '" + t.name() + "' is defined twice");
      g_.add_constant(t.name(), std::make_shared<const Tensor>(tensor_from_proto(t, {what, base_dir_})));
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
};

}  // namespace

namespace {

void parse_model(const void* data, size_t size, const std::string& name, onnx::ModelProto& m) {
  if (size == 0) throw Error(name + ": file is empty, not an ONNX model");
  // One protobuf message cannot exceed 2 GB; bigger models keep their weights in external data files.
  if (size > size_t(std::numeric_limits<int>::max()))
    throw Error(name + ": file is larger than 2 GB; such models must use external data");
  if (!m.ParseFromArray(data, int(size)))
    throw Error(name + ": not a valid ONNX model (protobuf parse failed; truncated?)");
}

}  // namespace

Graph load_onnx_buffer(const void* data, size_t size, const std::string& name, const std::string& base_dir) {
  onnx::ModelProto m;
  parse_model(data, size, name, m);
  return Importer(name, base_dir).run(m);
}

Graph load_onnx(const std::string& path) {
  onnx::ModelProto m;
  // The file's bytes are released as soon as they are parsed, before the graph's tensors are built: at most two
  // copies of the weights exist at any time during the load (file + message, then message + graph).
  // A regular file is mapped read-only rather than read(): reading copies every byte into fresh anonymous pages,
  // which the kernel must fault in and clear first, while mapping shares the page cache's pages (faulted in
  // batches by MAP_POPULATE, nothing cleared, nothing copied). For ResNet-50 INT8 (25 MB) that was about a fifth
  // of session creation (perf: clear_page + copy_to_iter + the zero-fill). Anything else (pipes, /proc, a failed
  // mmap) takes the read() path. The mapping is private and read-only, so the file is never written; like any
  // mmap, a file truncated by another process during the parse would fault - the same as ONNX Runtime's
  // external-data mapping.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  void* map = MAP_FAILED;
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      uint64_t(st.st_size) <= uint64_t(std::numeric_limits<int>::max()))
    map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (fd >= 0) ::close(fd);  // a mapping outlives its descriptor
  if (map != MAP_FAILED) {
    struct Unmap {
      void* p;
      size_t n;
      ~Unmap() { ::munmap(p, n); }
    } unmap{map, size_t(st.st_size)};
    parse_model(map, size_t(st.st_size), path, m);
  } else {
    const std::string bytes = read_file_bytes(path);  // also the one place that reports open errors
    parse_model(bytes.data(), bytes.size(), path, m);
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::current_path();
  return Importer(path, dir.string()).run(m);
}

}  // namespace octet
