// Bearer tokens: read from a file, as meshd's --token-file takes them, and checked.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

// Reads the token (surrounding whitespace removed). Errors: IOError when unreadable,
// InvalidArgument when empty, readable by group or others (a secret must be mode 0600), or
// holding a control character other than a tab inside the token (a line break would split the
// Authorization header it is sent in).
Result<std::string> ReadTokenFile(const std::string& path);

// Whether an Authorization header value is "Bearer <token>", compared in constant time so that
// the time taken does not tell how much of a guess was right.
bool BearerTokenMatches(const std::string& authorization, const std::string& token);

// Whether a and b are equal, in a time that depends on their lengths only, not on where they
// differ: comparing secrets.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace mesh
