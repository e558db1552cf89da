// For octet's own tests only (not installed): the engine Session behind a C API handle, so a test can inspect
// what the C API built (e.g. that an INT8 session's plan runs QConv nodes).
#pragma once

#include "engine/session.h"

struct octet_session;

namespace octet {

/// The session's engine object; valid until octet_session_destroy. Throws (ApiError) for a NULL handle.
Session& engine_session(octet_session* session);

}  // namespace octet
