#include "tools/infer_print.h"

#include <cstdio>

#include "tools/classify.h"
#include "tools/common.h"

namespace octet::tools {

namespace {

// %.6g, as json_number, for the statistics in text.
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string json_ints(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Text: the file name line, then (classes) "label  0.dddd" per class - the format outside tools parse - or
// (segmentation) a header and "label  0.dddd" per class present, or (tensors) a line per output.
void text_one(const ImageResult& r, const std::vector<std::string>& labels) {
  std::printf("%s\n", r.image.c_str());
  switch (r.kind) {
    case OutputKind::classes:
      for (int i : r.top) std::printf("%s  %.4f\n", label_name(labels, i).c_str(), double(r.prob[size_t(i)]));
      break;
    case OutputKind::segmentation:
      std::printf("segmentation '%s' %s: %lld classes, %lldx%lld map; share of pixels:\n", r.map_output.c_str(),
                  shape_str(r.map_shape).c_str(), (long long)r.map_shape[1], (long long)r.map_shape[2],
                  (long long)r.map_shape[3]);
      for (const ClassShare& c : r.shares) std::printf("%s  %.4f\n", label_name(labels, c.index).c_str(), c.share);
      break;
    case OutputKind::tensors:
      for (const OutputSummary& o : r.outputs) {
        std::string line = o.name + "  " + dtype_name(o.dtype) + " " + shape_str(o.shape);
        const TensorStats& s = o.stats;
        if (s.numeric) {
          line += "  min " + num(s.min) + " max " + num(s.max) + " mean " + num(s.mean) + " std " + num(s.std);
          if (s.argmax >= 0) line += " argmax " + std::to_string(s.argmax) + " at " + json_ints(s.argmax_at);
          if (s.nan) line += " nan " + std::to_string(s.nan);
        }
        std::printf("%s\n", line.c_str());
      }
      break;
  }
  if (!r.mask.empty()) std::printf("mask %s\n", r.mask.c_str());
  for (const auto& [name, file] : r.saved) std::printf("saved %s %s\n", name.c_str(), file.c_str());
}

std::string json_classes(const ImageResult& r, const std::vector<std::string>& labels) {
  std::string s = "\"top\": [";
  for (size_t j = 0; j < r.top.size(); ++j) {
    int i = r.top[j];
    s += j ? ", " : "";
    s += "{\"index\": " + std::to_string(i) + ", \"label\": " + json_string(label_name(labels, i)) +
         ", \"prob\": " + json_number(r.prob[size_t(i)]) + "}";
  }
  return s + "]";
}

std::string json_segmentation(const ImageResult& r, const std::vector<std::string>& labels) {
  std::string s = "\"kind\": \"segmentation\", \"output\": " + json_string(r.map_output) +
                  ", \"shape\": " + json_ints(r.map_shape) + ", \"classes\": [";
  for (size_t j = 0; j < r.shares.size(); ++j) {
    const ClassShare& c = r.shares[j];
    s += j ? ", " : "";
    s += "{\"index\": " + std::to_string(c.index) + ", \"label\": " + json_string(label_name(labels, c.index)) +
         ", \"pixels\": " + std::to_string(c.pixels) + ", \"share\": " + json_number(c.share) + "}";
  }
  s += "]";
  if (!r.mask.empty()) s += ", \"mask\": " + json_string(r.mask);
  return s;
}

std::string json_tensors(const ImageResult& r) {
  std::string s = "\"kind\": \"tensors\", \"outputs\": [";
  for (size_t j = 0; j < r.outputs.size(); ++j) {
    const OutputSummary& o = r.outputs[j];
    const TensorStats& st = o.stats;
    s += j ? ", " : "";
    s += "{\"name\": " + json_string(o.name) + ", \"dtype\": " + json_string(dtype_name(o.dtype)) +
         ", \"shape\": " + json_ints(o.shape);
    if (st.numeric) {
      s += ", \"min\": " + json_number(st.min) + ", \"max\": " + json_number(st.max) +
           ", \"mean\": " + json_number(st.mean) + ", \"std\": " + json_number(st.std) +
           ", \"nan\": " + std::to_string(st.nan);
      if (st.argmax >= 0)
        s += ", \"argmax\": " + std::to_string(st.argmax) + ", \"argmax_at\": " + json_ints(st.argmax_at);
    }
    s += "}";
  }
  return s + "]";
}

}  // namespace

void print_text(const std::vector<ImageResult>& results, const std::vector<std::string>& labels) {
  for (const ImageResult& r : results) text_one(r, labels);
}

void print_json(const std::vector<ImageResult>& results, const std::vector<std::string>& labels) {
  std::string s = "[";
  for (size_t n = 0; n < results.size(); ++n) {
    const ImageResult& r = results[n];
    s += n ? ",\n " : "";
    s += "{\"image\": " + json_string(r.image) + ", ";
    if (r.kind == OutputKind::classes)
      s += json_classes(r, labels);
    else if (r.kind == OutputKind::segmentation)
      s += json_segmentation(r, labels);
    else
      s += json_tensors(r);
    if (!r.saved.empty()) {
      s += ", \"saved\": {";
      for (size_t j = 0; j < r.saved.size(); ++j)
        s += (j ? ", " : "") + json_string(r.saved[j].first) + ": " + json_string(r.saved[j].second);
      s += "}";
    }
    s += "}";
  }
  s += "]\n";
  std::fputs(s.c_str(), stdout);
}

}  // namespace octet::tools
