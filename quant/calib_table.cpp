#include "quant/calib_table.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "graph/error.h"

namespace octet::quant {

namespace {

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

}  // namespace

void write_table(const std::string& path, const CalibTable& t) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) throw Error(path + ": cannot create file (" + std::strerror(errno) + ")");
  f << "# octet calibration table\n";
  for (const std::string& h : t.header) f << "# " << h << "\n";
  f << "# columns: tensor min max scale zero_point\n"
       "# scale and zero_point are applied as written; put - in both to derive them from min and max\n";
  for (const TableEntry& e : t.entries)
    f << e.name << ' ' << num(e.min) << ' ' << num(e.max) << ' ' << num(e.params.scale) << ' '
      << e.params.zero_point << '\n';
  f.close();
  if (!f) throw Error(path + ": write error");
}

CalibTable read_table(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open calibration table (" + std::strerror(errno) + ")");
  CalibTable t;
  std::set<std::string> seen;
  std::string line;
  for (int lineno = 1; std::getline(f, line); ++lineno) {
    const std::string where = path + ":" + std::to_string(lineno) + ": ";
    line = trim(line);
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (lineno > 1) t.header.push_back(trim(line.substr(1)));
      continue;
    }
    // The last four whitespace-separated fields are numbers; the name is the rest.
    std::vector<std::string> fields;
    size_t end = line.size();
    for (int k = 0; k < 4; ++k) {
      const size_t sp = line.find_last_of(" \t", end - 1);
      if (sp == std::string::npos) throw Error(where + "expected 'tensor min max scale zero_point', got '" + line + "'");
      fields.insert(fields.begin(), line.substr(sp + 1, end - sp - 1));
      end = line.find_last_not_of(" \t", sp);
      if (end == std::string::npos) throw Error(where + "expected 'tensor min max scale zero_point', got '" + line + "'");
      ++end;
    }
    TableEntry e;
    e.name = line.substr(0, end);
    auto number = [&](const std::string& s, const char* what) {
      char* p = nullptr;
      const double v = std::strtod(s.c_str(), &p);
      if (s.empty() || *p || !std::isfinite(v))
        throw Error(where + "tensor '" + e.name + "': " + what + " '" + s + "' is not a finite number");
      return v;
    };
    e.min = number(fields[0], "min");
    e.max = number(fields[1], "max");
    if (e.min > e.max) throw Error(where + "tensor '" + e.name + "': min " + fields[0] + " > max " + fields[1]);
    if (fields[2] == "-" && fields[3] == "-") {
      e.params = u8_params(Range{std::min(e.min, 0.0), std::max(e.max, 0.0)});
    } else {
      const double s = number(fields[2], "scale"), z = number(fields[3], "zero_point");
      if (!(s > 0) || float(s) <= 0 || !std::isfinite(float(s)))
        throw Error(where + "tensor '" + e.name + "': scale " + fields[2] + " must be positive (a float32)");
      if (z != std::floor(z) || z < 0 || z > 255)
        throw Error(where + "tensor '" + e.name + "': zero_point " + fields[3] + " must be an integer in [0, 255]");
      e.params = QParams{float(s), int32_t(z)};
    }
    if (!seen.insert(e.name).second) throw Error(where + "tensor '" + e.name + "' is listed twice");
    t.entries.push_back(std::move(e));
  }
  return t;
}

}  // namespace octet::quant
