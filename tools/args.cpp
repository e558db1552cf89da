#include "tools/args.h"

#include <cstdlib>

namespace octet::tools {

Args::Args(int argc, char** argv, std::set<std::string> with_value, std::set<std::string> switches) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string flag = a, value;
      bool inline_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        flag = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      if (with_value.count(flag)) {
        if (!inline_value) {
          if (i + 1 >= argc) throw UsageError(flag + " needs a value");
          value = argv[++i];
        }
        vals_.emplace(flag, value);
      } else if (switches.count(flag) && !inline_value) {
        vals_.emplace(flag, "1");
      } else {
        throw UsageError("unknown option " + a);
      }
    } else if (a == "-o" && with_value.count("-o")) {
      if (i + 1 >= argc) throw UsageError("-o needs a value");
      vals_.emplace("-o", argv[++i]);
    } else {
      pos_.push_back(a);
    }
  }
}

std::string Args::get(const std::string& flag, const std::string& def) const {
  auto it = vals_.equal_range(flag);
  if (it.first == it.second) return def;
  return std::prev(it.second)->second;  // the last one given wins
}

std::vector<std::string> Args::all(const std::string& flag) const {
  std::vector<std::string> r;
  for (auto [a, b] = vals_.equal_range(flag); a != b; ++a) r.push_back(a->second);
  return r;
}

int Args::get_int(const std::string& flag, int def) const {
  if (!has(flag)) return def;
  std::string s = get(flag);
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end) throw UsageError(flag + " expects an integer, got '" + s + "'");
  return int(v);
}

double Args::get_double(const std::string& flag, double def) const {
  if (!has(flag)) return def;
  std::string s = get(flag);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end) throw UsageError(flag + " expects a number, got '" + s + "'");
  return v;
}

std::map<std::string, Shape> Args::shapes() const {
  std::map<std::string, Shape> r;
  for (const std::string& s : all("--shape")) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--shape expects NAME=DxDx..., got '" + s + "'");
    r[s.substr(0, eq)] = parse_shape(s.substr(eq + 1));
  }
  return r;
}

Shape parse_shape(const std::string& s) {
  Shape r;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('x', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    char* end = nullptr;
    long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end || v < 0) throw UsageError("bad shape '" + s + "' (expected e.g. 1x3x224x224)");
    r.push_back(v);
    i = j + 1;
  }
  return r;
}

std::vector<float> parse_floats(const std::string& s) {
  std::vector<float> r;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    char* end = nullptr;
    float v = std::strtof(part.c_str(), &end);
    if (part.empty() || *end) throw UsageError("bad number list '" + s + "' (expected e.g. 0.485,0.456,0.406)");
    r.push_back(v);
    i = j + 1;
  }
  return r;
}

}  // namespace octet::tools
