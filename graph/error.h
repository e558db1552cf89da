// The exception types of octet: a message that names the file, the node and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace octet {

/// Thrown for bad input (malformed model, wrong shape, bad image, bad arguments).
/// what() is a complete sentence for the user, e.g.
/// "model.onnx: node 'conv1' (Conv): input 'x' has rank 3, expected 4".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A valid model that uses something octet does not implement (an op, a dtype, an attribute value).
/// `octet conformance` reports these as SKIP rather than FAIL.
class Unsupported : public Error {
 public:
  using Error::Error;
};

}  // namespace octet
