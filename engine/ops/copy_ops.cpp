// Data-movement ops that copy input elements to new places: Slice, Pad, Expand, Tile, DepthToSpace,
// SpaceToDepth (each an index map, kernels/copy/index_map.h) and Split (one block copy per output).
//
// All are dtype-agnostic (they move bytes of 1, 2, 4 or 8). Parameters come from graph/data_op_attrs.h, the
// code shape inference used, so they are constants here.
#include <cstring>

#include "engine/kernel.h"
#include "engine/ops/data_util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/data_op_attrs.h"
#include "kernels/copy/index_map.h"

namespace octet::ops {
namespace {

namespace kc = kernels::copy;

class IndexMapKernel final : public Kernel {
 public:
  /// fill_input >= 0: the fill element is read from that input at run time (Pad's non-constant value).
  IndexMapKernel(std::string op, kc::IndexMap map, size_t es, uint64_t fill, int fill_input)
      : op_(std::move(op)), map_(kc::simplify(map)), es_(es), fill_(fill), fill_input_(fill_input) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const void* fill = &fill_;
    if (fill_input_ >= 0 && in[size_t(fill_input_)].data) fill = in[size_t(fill_input_)].data;
    kc::index_map_copy(map_, in[0].data, out[0].data, es_, fill, ctx.parallel);
  }
  std::string name() const override { return "copy/" + op_; }

 private:
  std::string op_;
  kc::IndexMap map_;
  size_t es_;
  uint64_t fill_;
  int fill_input_;
};

void check_output(const KernelInfo& info, const Shape& want) {
  if (info.out_shape(0) != want)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(want));
  if (info.output(0).dtype != info.input(0).dtype) info.fail("output type differs from the input's");
}

std::unique_ptr<Kernel> make_slice(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  const size_t es = element_bytes(info, info.input(0));
  const std::vector<SliceDim> dims = slice_dims(info.graph, info.node_id, x);
  const std::vector<int64_t> st = strides_of(x);
  kc::IndexMap m;
  for (size_t d = 0; d < x.size(); ++d) {
    m.out.push_back(dims[d].len);
    std::vector<int64_t> t(static_cast<size_t>(dims[d].len));
    for (int64_t j = 0; j < dims[d].len; ++j) t[size_t(j)] = (dims[d].start + j * dims[d].step) * st[d];
    m.tab.push_back(std::move(t));
  }
  check_output(info, m.out);
  return std::make_unique<IndexMapKernel>("slice", std::move(m), es, 0, -1);
}

/// The source index of output position i of a padded dim of size n (begin padding b), or kFill.
int64_t pad_source(int64_t i, int64_t b, int64_t n, const std::string& mode) {
  int64_t j = i - b;
  if (j >= 0 && j < n) return j;
  if (mode == "constant") return kc::kFill;
  if (mode == "edge") return j < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  // reflect (numpy): the index walks 0, 1, .., n-1, n-2, .., 1, 0, 1, .. with period 2(n-1).
  const int64_t period = 2 * (n - 1);
  j = ((j % period) + period) % period;
  return j < n ? j : period - j;
}

std::unique_ptr<Kernel> make_pad(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  const DType dt = info.input(0).dtype;
  const size_t es = element_bytes(info, info.input(0));
  const PadSpec p = pad_spec(info.graph, info.node_id, x);
  const std::vector<int64_t> st = strides_of(x);
  // Negative pads crop: the map then starts inside the input. Reflect/edge read what remains after the crop.
  kc::IndexMap m;
  for (size_t d = 0; d < x.size(); ++d) {
    const int64_t crop_b = std::max<int64_t>(0, -p.begin[d]), crop_e = std::max<int64_t>(0, -p.end[d]);
    const int64_t n = x[d] - crop_b - crop_e, b = std::max<int64_t>(0, p.begin[d]);
    const int64_t len = x[d] + p.begin[d] + p.end[d];
    std::vector<int64_t> t(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; ++i) {
      const int64_t s = pad_source(i, b, n, p.mode);
      t[size_t(i)] = s < 0 ? kc::kFill : (s + crop_b) * st[d];
    }
    m.out.push_back(len);
    m.tab.push_back(std::move(t));
  }
  check_output(info, m.out);
  uint64_t fill = 0;
  store_scalar(dt, p.value, &fill);
  if (!p.value_const && info.input(2).dtype != dt) info.fail("constant_value has a different type than the data");
  return std::make_unique<IndexMapKernel>("pad_" + p.mode, std::move(m), es, fill, p.value_const ? -1 : 2);
}

std::unique_ptr<Kernel> make_expand(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  const size_t es = element_bytes(info, info.input(0));
  const Shape out = expand_shape(info.graph, info.node_id, x);
  const std::vector<int64_t> st = strides_of(x);
  kc::IndexMap m;
  m.out = out;
  const size_t lead = out.size() - x.size();
  for (size_t d = 0; d < out.size(); ++d) {
    std::vector<int64_t> t(size_t(out[d]), 0);
    if (d >= lead && x[d - lead] != 1)
      for (int64_t j = 0; j < out[d]; ++j) t[size_t(j)] = j * st[d - lead];
    m.tab.push_back(std::move(t));
  }
  check_output(info, out);
  return std::make_unique<IndexMapKernel>("expand", std::move(m), es, 0, -1);
}

std::unique_ptr<Kernel> make_tile(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  const size_t es = element_bytes(info, info.input(0));
  const std::vector<int64_t> rep = tile_repeats(info.graph, info.node_id, x);
  const std::vector<int64_t> st = strides_of(x);
  kc::IndexMap m;
  for (size_t d = 0; d < x.size(); ++d) {
    m.out.push_back(x[d] * rep[d]);
    std::vector<int64_t> t(static_cast<size_t>(x[d] * rep[d]));
    for (int64_t j = 0; j < x[d] * rep[d]; ++j) t[size_t(j)] = (j % x[d]) * st[d];
    m.tab.push_back(std::move(t));
  }
  check_output(info, m.out);
  return std::make_unique<IndexMapKernel>("tile", std::move(m), es, 0, -1);
}

// DepthToSpace, output [N, C', H*b, W*b] with C' = C / b^2, output (n, c, h*b + i, w*b + j) reads
//   DCR: input (n, (i*b + j) * C' + c, h, w)      CRD: input (n, c * b^2 + i*b + j, h, w)
// The input offset is a sum of one term per output dim, so each dim gets a table.
std::unique_ptr<Kernel> make_depth_to_space(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  if (x.size() != 4) info.fail("input has shape " + shape_str(x) + ", expected 4-D");
  const size_t es = element_bytes(info, info.input(0));
  const int64_t b = info.node().attr_i("blocksize", 1), C = x[1] / (b * b), H = x[2], W = x[3], HW = H * W;
  const bool crd = info.graph.opset("") >= 11 && info.node().attr_s("mode", "DCR") == "CRD";
  kc::IndexMap m;
  m.out = {x[0], C, H * b, W * b};
  m.tab.resize(4);
  for (int64_t n = 0; n < x[0]; ++n) m.tab[0].push_back(n * x[1] * HW);
  for (int64_t c = 0; c < C; ++c) m.tab[1].push_back((crd ? c * b * b : c) * HW);
  for (int64_t y = 0; y < H * b; ++y) m.tab[2].push_back((y % b) * (crd ? b : b * C) * HW + (y / b) * W);
  for (int64_t z = 0; z < W * b; ++z) m.tab[3].push_back((z % b) * (crd ? 1 : C) * HW + z / b);
  check_output(info, m.out);
  return std::make_unique<IndexMapKernel>(crd ? "depth_to_space_crd" : "depth_to_space_dcr", std::move(m), es, 0, -1);
}

// SpaceToDepth, output [N, C*b^2, H/b, W/b]: output (n, (i*b + j) * C + c, h, w) reads input (n, c, h*b + i, w*b + j).
std::unique_ptr<Kernel> make_space_to_depth(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  if (x.size() != 4) info.fail("input has shape " + shape_str(x) + ", expected 4-D");
  const size_t es = element_bytes(info, info.input(0));
  const int64_t b = info.node().attr_i("blocksize", 1), C = x[1], H = x[2], W = x[3];
  kc::IndexMap m;
  m.out = {x[0], C * b * b, H / b, W / b};
  m.tab.resize(4);
  for (int64_t n = 0; n < x[0]; ++n) m.tab[0].push_back(n * C * H * W);
  for (int64_t oc = 0; oc < C * b * b; ++oc) {
    const int64_t c = oc % C, ij = oc / C, i = ij / b, j = ij % b;
    m.tab[1].push_back(c * H * W + i * W + j);
  }
  for (int64_t h = 0; h < H / b; ++h) m.tab[2].push_back(h * b * W);
  for (int64_t w = 0; w < W / b; ++w) m.tab[3].push_back(w * b);
  check_output(info, m.out);
  return std::make_unique<IndexMapKernel>("space_to_depth", std::move(m), es, 0, -1);
}

// ---------------------------------------------------------------------------------------------------------------
// Split: the input viewed as [outer][axis][inner]; output k takes rows [begin_k, begin_k + size_k) of each outer.

class SplitKernel final : public Kernel {
 public:
  SplitKernel(int64_t outer, int64_t axis_dim, std::vector<int64_t> sizes, size_t block)
      : outer_(outer), axis_dim_(axis_dim), sizes_(std::move(sizes)), block_(block) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const char* x = static_cast<const char*>(in[0].data);
    split_work(ctx, outer_, int64_t(size_t(axis_dim_) * block_ / 4), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        int64_t begin = 0;
        for (size_t k = 0; k < sizes_.size(); ++k) {
          const size_t bytes = size_t(sizes_[k]) * block_;
          if (out[k].data && bytes)
            std::memcpy(static_cast<char*>(out[k].data) + size_t(o) * bytes,
                        x + (size_t(o * axis_dim_ + begin)) * block_, bytes);
          begin += sizes_[k];
        }
      }
    });
  }
  std::string name() const override { return "copy/split"; }

 private:
  int64_t outer_, axis_dim_;
  std::vector<int64_t> sizes_;
  size_t block_;
};

std::unique_ptr<Kernel> make_split(const KernelInfo& info) {
  require_plain(info);
  const Shape x = info.in_shape(0);
  const size_t es = element_bytes(info, info.input(0));
  const SplitSpec s = split_spec(info.graph, info.node_id, x);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < s.axis; ++d) outer *= x[size_t(d)];
  for (size_t d = size_t(s.axis) + 1; d < x.size(); ++d) inner *= x[d];
  for (size_t k = 0; k < s.sizes.size(); ++k) {
    if (info.node().outputs[k] < 0) continue;
    Shape want = x;
    want[size_t(s.axis)] = s.sizes[k];
    if (info.out_shape(int(k)) != want)
      info.fail("output " + std::to_string(k) + " has shape " + shape_str(info.out_shape(int(k))) + ", expected " +
                shape_str(want));
  }
  return std::make_unique<SplitKernel>(outer, x[size_t(s.axis)], s.sizes, size_t(inner) * es);
}

}  // namespace

void register_copy_ops(KernelRegistry& r) {
  r.add("", "Slice", make_slice);
  r.add("", "Pad", make_pad);
  r.add("", "Expand", make_expand);
  r.add("", "Tile", make_tile);
  r.add("", "DepthToSpace", make_depth_to_space);
  r.add("", "SpaceToDepth", make_space_to_depth);
  r.add("", "Split", make_split);
}

}  // namespace octet::ops
