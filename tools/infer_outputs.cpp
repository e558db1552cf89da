#include "tools/infer_outputs.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/error.h"

namespace octet::tools {

const char* kind_name(OutputKind k) {
  switch (k) {
    case OutputKind::classes:
      return "classes";
    case OutputKind::segmentation:
      return "segmentation";
    case OutputKind::tensors:
      return "tensors";
  }
  return "?";
}

OutputKind output_kind(const std::vector<Tensor>& outputs, int64_t batch) {
  if (outputs.size() != 1 || outputs[0].dtype() != DType::f32) return OutputKind::tensors;
  const Shape& s = outputs[0].shape();
  if (s.empty() || s[0] != batch || outputs[0].numel() == 0) return OutputKind::tensors;
  if (s.size() == 2 || (s.size() == 4 && s[2] == 1 && s[3] == 1)) return OutputKind::classes;
  if (s.size() == 4 && s[1] >= 2 && s[2] > 1 && s[3] > 1) return OutputKind::segmentation;
  return OutputKind::tensors;
}

std::vector<Tensor> image_slice(const std::vector<Tensor>& outputs, const std::vector<std::string>& names,
                                int64_t batch, int64_t i, const std::string& model) {
  std::vector<Tensor> r;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& o = outputs[k];
    if (batch == 1) {
      Tensor copy(o.dtype(), o.shape(), Tensor::Uninitialized{});
      if (o.bytes()) std::memcpy(copy.data(), o.data(), o.bytes());
      r.push_back(std::move(copy));
      continue;
    }
    if (o.shape().empty() || o.shape()[0] != batch)
      throw Error(model + ": output '" + names[k] + "' has shape " + shape_str(o.shape()) +
                  ", whose first dim is not the batch of " + std::to_string(batch) +
                  " images: its rows cannot be told apart by image (run a batch of 1, e.g. --shape NAME=1x...)");
    Shape s = o.shape();
    s[0] = 1;
    Tensor part(o.dtype(), s, Tensor::Uninitialized{});
    const size_t row = o.bytes() / size_t(batch);
    if (row) std::memcpy(part.data(), static_cast<const char*>(o.data()) + size_t(i) * row, row);
    r.push_back(std::move(part));
  }
  return r;
}

SegmentationMap argmax_map(const Tensor& scores) {
  const Shape& s = scores.shape();
  SegmentationMap m{int(s[1]), int(s[2]), int(s[3]), {}};
  const size_t plane = size_t(m.height) * size_t(m.width);
  m.label.assign(plane, 0);
  // The running best per pixel, a plane at a time: each class's plane is read once, contiguously. A NaN score
  // is -inf here so it never wins over a real one; `>` keeps the lower class on ties.
  std::vector<float> best(plane, -INFINITY);
  const float* p = scores.as<float>();
  for (int c = 0; c < m.classes; ++c) {
    const float* row = p + size_t(c) * plane;
    for (size_t i = 0; i < plane; ++i) {
      const float v = std::isnan(row[i]) ? -INFINITY : row[i];
      if (v > best[i]) {
        best[i] = v;
        m.label[i] = c;
      }
    }
  }
  return m;
}

std::vector<ClassShare> class_shares(const SegmentationMap& m) {
  std::vector<int64_t> count(size_t(std::max(m.classes, 0)), 0);
  for (int32_t c : m.label) ++count[size_t(c)];
  const double total = double(m.label.size());
  std::vector<ClassShare> r;
  for (int c = 0; c < m.classes; ++c)
    if (count[size_t(c)] > 0) r.push_back({c, count[size_t(c)], double(count[size_t(c)]) / total});
  std::stable_sort(r.begin(), r.end(), [](const ClassShare& a, const ClassShare& b) { return a.pixels > b.pixels; });
  return r;
}

namespace {

template <class T>
void to_doubles(const void* data, int64_t n, std::vector<double>& out) {
  const T* p = static_cast<const T*>(data);
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(p[i]);
}

// The elements of a tensor as doubles; false for element types without a numeric value here.
bool values_of(const Tensor& t, std::vector<double>& v) {
  v.resize(size_t(t.numel()));
  switch (t.dtype()) {
    case DType::f32:
      to_doubles<float>(t.data(), t.numel(), v);
      return true;
    case DType::f64:
      to_doubles<double>(t.data(), t.numel(), v);
      return true;
    case DType::u8:
      to_doubles<uint8_t>(t.data(), t.numel(), v);
      return true;
    case DType::i8:
      to_doubles<int8_t>(t.data(), t.numel(), v);
      return true;
    case DType::u16:
      to_doubles<uint16_t>(t.data(), t.numel(), v);
      return true;
    case DType::i16:
      to_doubles<int16_t>(t.data(), t.numel(), v);
      return true;
    case DType::u32:
      to_doubles<uint32_t>(t.data(), t.numel(), v);
      return true;
    case DType::i32:
      to_doubles<int32_t>(t.data(), t.numel(), v);
      return true;
    case DType::u64:
      to_doubles<uint64_t>(t.data(), t.numel(), v);
      return true;
    case DType::i64:
      to_doubles<int64_t>(t.data(), t.numel(), v);
      return true;
    case DType::boolean:
      to_doubles<uint8_t>(t.data(), t.numel(), v);
      return true;
    default:
      return false;
  }
}

}  // namespace

TensorStats tensor_stats(const Tensor& t) {
  TensorStats st;
  std::vector<double> v;
  if (!values_of(t, v)) return st;
  st.numeric = true;
  // Two passes (mean, then squared deviations) rather than sum(x^2) - n mean^2, which cancels badly when
  // |mean| >> std.
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) {
      ++st.nan;
      continue;
    }
    if (st.count == 0 || v[i] < st.min) st.min = v[i];
    if (st.count == 0 || v[i] > st.max) {
      st.max = v[i];
      st.argmax = int64_t(i);
    }
    sum += v[i];
    ++st.count;
  }
  if (st.count == 0) {
    st.min = st.max = st.mean = st.std = NAN;
    st.argmax = -1;
    return st;
  }
  st.mean = sum / double(st.count);
  double sq = 0;
  for (double x : v)
    if (!std::isnan(x)) sq += (x - st.mean) * (x - st.mean);
  st.std = std::sqrt(sq / double(st.count));
  if (t.numel() > kArgmaxMaxElements) {
    st.argmax = -1;
    return st;
  }
  // Flat index -> coordinates, last dim fastest.
  st.argmax_at.assign(t.shape().size(), 0);
  for (int64_t d = int64_t(t.shape().size()) - 1, rest = st.argmax; d >= 0; --d) {
    st.argmax_at[size_t(d)] = rest % t.shape()[size_t(d)];
    rest /= t.shape()[size_t(d)];
  }
  return st;
}

}  // namespace octet::tools
