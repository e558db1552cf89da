#include "tools/common.h"

#include <cmath>
#include <cstdio>
#include <random>

namespace octet::tools {

SessionOptions session_options(const Args& a) {
  SessionOptions o;
  o.threads = a.get_int("--threads", 0);
  if (o.threads < 0) throw UsageError("--threads must be >= 1");
  o.shapes = a.shapes();
  return o;
}

std::unique_ptr<Session> open_session(const std::string& path, const Args& a) {
  return Session::load(path, session_options(a));
}

std::string json_string(const std::string& s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': r += "\\\""; break;
      case '\\': r += "\\\\"; break;
      case '\n': r += "\\n"; break;
      case '\r': r += "\\r"; break;
      case '\t': r += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          r += buf;
        } else {
          r += char(c);
        }
    }
  }
  return r + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::vector<Tensor> generate_inputs(const Session& s, const std::vector<Shape>& shapes) {
  std::mt19937 rng(1234);
  std::vector<Tensor> r;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor t(s.input(i).dtype, shapes[i]);
    if (t.dtype() == DType::f32) {
      std::uniform_real_distribution<float> d(-1.f, 1.f);
      for (int64_t k = 0; k < t.numel(); ++k) t.as<float>()[k] = d(rng);
    } else if (t.dtype() == DType::u8) {
      for (int64_t k = 0; k < t.numel(); ++k) t.as<uint8_t>()[k] = uint8_t(rng());
    }
    r.push_back(std::move(t));
  }
  return r;
}

}  // namespace octet::tools
