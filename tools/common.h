// Helpers shared by the subcommands: session options from flags, JSON string escaping, input generation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/session.h"
#include "tools/args.h"

namespace octet::tools {

/// The flags every model-running command takes.
inline const std::set<std::string> kSessionFlags = {"--threads", "--shape"};

/// SessionOptions from --threads and --shape.
SessionOptions session_options(const Args& a);
/// Loads MODEL with options from flags.
std::unique_ptr<Session> open_session(const std::string& path, const Args& a);
/// "..." with JSON escapes.
std::string json_string(const std::string& s);
/// Numbers for JSON (no NaN/inf: null).
std::string json_number(double v);
/// A deterministic pseudo-random input for each model input at the given shapes.
std::vector<Tensor> generate_inputs(const Session& s, const std::vector<Shape>& shapes);

}  // namespace octet::tools
