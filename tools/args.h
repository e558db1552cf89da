// A small command-line parser shared by the subcommands: positionals, `--flag VALUE`, `--flag=VALUE`, `--switch`.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace octet::tools {

/// Bad usage: main() prints the message and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  /// `with_value`: flags that take a value; `switches`: flags that do not. Anything else starting with "--"
  /// is a UsageError. A flag given twice keeps all values (see all()).
  Args(int argc, char** argv, std::set<std::string> with_value, std::set<std::string> switches);

  const std::vector<std::string>& positional() const { return pos_; }
  bool has(const std::string& flag) const { return vals_.count(flag) != 0; }
  std::string get(const std::string& flag, const std::string& def = "") const;
  std::vector<std::string> all(const std::string& flag) const;
  int get_int(const std::string& flag, int def) const;
  double get_double(const std::string& flag, double def) const;
  /// "--shape NAME=1x3x224x224" (repeatable) -> {NAME: shape}.
  std::map<std::string, Shape> shapes() const;

 private:
  std::vector<std::string> pos_;
  std::multimap<std::string, std::string> vals_;
};

/// "1x3x224x224" -> {1,3,224,224}; throws UsageError.
Shape parse_shape(const std::string& s);
/// "0.485,0.456,0.406" -> floats; throws UsageError.
std::vector<float> parse_floats(const std::string& s);

}  // namespace octet::tools
