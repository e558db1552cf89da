// Graph -> ModelProto. Mirrors the importer field by field (see graph/onnx_import.cpp) so that
// load -> export -> load gives the same graph.
#include "graph/onnx_export.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "graph/onnx_tensor.h"
#include "onnx/onnx.pb.h"

namespace octet {

namespace {

void write_type(const Value& v, onnx::TypeProto& t) {
  onnx::TypeProto_Tensor* tt = t.mutable_tensor_type();
  if (v.dtype != DType::undefined) tt->set_elem_type(int32_t(v.dtype));
  if (!v.has_shape) return;
  onnx::TensorShapeProto* s = tt->mutable_shape();  // present even for a scalar (rank 0)
  for (const Dim& d : v.dims) {
    onnx::TensorShapeProto_Dimension* dim = s->add_dim();
    if (d.known()) dim->set_dim_value(d.value);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void write_attribute(const Graph& g, int node, const std::string& name, const Attribute& a,
                     onnx::AttributeProto& p) {
  using AP = onnx::AttributeProto;
  p.set_name(name);
  switch (a.kind) {
    case Attribute::Kind::f: p.set_type(AP::FLOAT); p.set_f(a.f); break;
    case Attribute::Kind::i: p.set_type(AP::INT); p.set_i(a.i); break;
    case Attribute::Kind::s: p.set_type(AP::STRING); p.set_s(a.s); break;
    case Attribute::Kind::t:
      p.set_type(AP::TENSOR);
      tensor_to_proto(a.t->view(), "", *p.mutable_t());
      break;
    case Attribute::Kind::floats:
      p.set_type(AP::FLOATS);
      for (float f : a.floats) p.add_floats(f);
      break;
    case Attribute::Kind::ints:
      p.set_type(AP::INTS);
      for (int64_t i : a.ints) p.add_ints(i);
      break;
    case Attribute::Kind::strings:
      p.set_type(AP::STRINGS);
      for (const std::string& s : a.strings) p.add_strings(s);
      break;
    case Attribute::Kind::graph:
      throw Unsupported(g.where(node) + ": attribute '" + name + "' is a subgraph, which octet cannot export");
    case Attribute::Kind::undefined:
      throw Unsupported(g.where(node) + ": attribute '" + name + "' has a type octet cannot export");
  }
}

// A compiled graph (after the engine's passes) holds nodes ONNX has no name for; only model graphs export.
void check_exportable(const Graph& g, int id) {
  const Node& n = g.nodes[id];
  if (n.domain == "octet")
    throw Error(g.where(id) + ": is an engine-internal node; only a model graph (before compilation) can be exported");
  if (!n.fusion.activation.empty() || n.fusion.residual_input >= 0)
    throw Error(g.where(id) + ": carries a fused epilogue; only a model graph (before fusion) can be exported");
  for (int v : n.outputs)
    if (v >= 0 && g.values[v].layout != Layout::plain)
      throw Error(g.where(id) + ": output '" + g.values[v].name + "' has layout " +
                  layout_name(g.values[v].layout) + "; only plain-layout graphs can be exported");
}

}  // namespace

int64_t ir_version_for_opset(int64_t opset) {
  // ONNX's release table: IR version -> the highest default-domain opset of that release.
  struct Row { int64_t max_opset, ir; };
  static const Row kTable[] = {{8, 3}, {9, 4}, {10, 5}, {11, 6}, {14, 7}, {18, 8}, {20, 9}, {21, 10}};
  for (const Row& r : kTable)
    if (opset <= r.max_opset) return r.ir;
  return 10;
}

void export_onnx(const Graph& g, onnx::ModelProto& m) {
  m.Clear();
  m.set_ir_version(ir_version_for_opset(g.opset("")));
  m.set_producer_name(g.producer);
  for (const auto& [domain, version] : g.opsets) {
    onnx::OperatorSetIdProto* op = m.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  for (const auto& [k, v] : g.metadata) {
    onnx::StringStringEntryProto* e = m.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  onnx::GraphProto* gp = m.mutable_graph();
  gp->set_name("main_graph");

  const std::vector<int> order = g.topo_order();
  std::vector<bool> referenced(g.values.size(), false);
  for (int id : order) {
    check_exportable(g, id);
    for (int v : g.nodes[id].inputs)
      if (v >= 0) referenced[v] = true;
    for (int v : g.nodes[id].outputs)
      if (v >= 0) referenced[v] = true;
  }
  for (int v : g.outputs) referenced[v] = true;
  const std::set<int> inputs(g.inputs.begin(), g.inputs.end());
  std::set<int> io = inputs;
  io.insert(g.outputs.begin(), g.outputs.end());

  for (int id : order) {
    const Node& n = g.nodes[id];
    onnx::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    // Absent optional inputs are "" in ONNX; trailing ones are simply left out.
    for (int i = 0; i < n.num_inputs(); ++i) np->add_input(n.inputs[i] >= 0 ? g.values[n.inputs[i]].name : "");
    for (int v : n.outputs) np->add_output(v >= 0 ? g.values[v].name : "");
    for (const auto& [name, a] : n.attrs) write_attribute(g, id, name, a, *np->add_attribute());
  }
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    // A constant graph output is an initializer too (ONNX lets an output name an initializer).
    if (!referenced[v] || !val.constant || inputs.count(int(v))) continue;
    tensor_to_proto(val.constant->view(), val.name, *gp->add_initializer());
  }
  for (int v : g.inputs) {
    onnx::ValueInfoProto* vi = gp->add_input();
    vi->set_name(g.values[v].name);
    write_type(g.values[v], *vi->mutable_type());
  }
  for (int v : g.outputs) {
    onnx::ValueInfoProto* vi = gp->add_output();
    vi->set_name(g.values[v].name);
    write_type(g.values[v], *vi->mutable_type());
  }
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    if (!referenced[v] || val.constant || io.count(int(v))) continue;
    if (val.dtype == DType::undefined && !val.has_shape) continue;
    onnx::ValueInfoProto* vi = gp->add_value_info();
    vi->set_name(val.name);
    write_type(val, *vi->mutable_type());
  }
}

std::string export_onnx_bytes(const Graph& g) {
  onnx::ModelProto m;
  export_onnx(g, m);
  if (m.ByteSizeLong() > size_t(std::numeric_limits<int>::max()))
    throw Error(g.path + ": the model is larger than 2 GB, which one ONNX file cannot hold (external data is not "
                "written yet)");
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error(g.path + ": cannot encode the model");
  return bytes;
}

void save_onnx(const Graph& g, const std::string& path) {
  const std::string bytes = export_onnx_bytes(g);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot create file (" + std::strerror(errno) + ")");
  f.write(bytes.data(), std::streamsize(bytes.size()));
  f.close();
  if (!f) throw Error(path + ": write error");
}

}  // namespace octet
