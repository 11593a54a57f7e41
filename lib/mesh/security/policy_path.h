// The path of a request as the authorization policy judges it, and the path prefixes of its
// rules. Pure functions and immutable values: thread-safe.
//
// A policy rule must judge the path the service behind the sidecar will act on, but servers
// resolve some spellings differently: Tomcat drops ";params" from every segment, some decode
// "%2F" into a separator or "%25" twice, Windows stacks take "\" for "/", most resolve "." and
// ".." segments, nginx merges "//". A path spelled so could match a prefix here and name another
// resource there ("/public/..;/admin", "/public/%2e%2e/admin", "/public%2F..%2Fadmin"). Such
// paths are ambiguous: no path prefix matches them (fail closed). Percent-encoded unreserved
// characters (RFC 3986 §2.3: letters, digits, "-._~") are decoded first, as every server does,
// so "/%70ublic" is "/public"; other escapes stay (hex digits upper-cased) and are matched as
// written.
//
// Ambiguous (CanonicalPolicyPath's error says which): a target not starting with "/" (absolute
// form, "*"); "#"; ";" in any segment, raw or encoded; "\" raw or encoded; an encoded "/", "%",
// "?" or "#"; an escape that is not "%" and two hex digits; an encoded control byte (NUL
// included; "%20" is fine); a raw control byte, space or byte outside ASCII; escaped bytes above 0x7F that are not
// well-formed UTF-8 (overlong forms like "%C0%AE" decode to "." in lenient decoders); a "." or
// ".." segment (after decoding: "%2e%2e" is ".."); an empty segment ("//"), except the last
// (a trailing "/"). The query string (after the first "?") is not part of the path.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

// The path of `target` (a request-target, query included or not) with unreserved characters
// decoded. Errors: InvalidArgument saying why the path is ambiguous.
Result<std::string> CanonicalPolicyPath(std::string_view target);

// A rule's path prefix. By whole segments, as Envoy's path_separated_prefix and the Gateway
// API's PathPrefix (Linkerd's HTTPRoute) match: "/api" matches "/api", "/api/" and "/api/x",
// never "/apiadmin"; a prefix ending in "/" ("/api/") matches what lies below it ("/api/x",
// "/api/"), not "/api"; "/" matches every path. A trailing "*" opts into matching characters:
// "/api*" matches "/api", "/apiadmin" and "/api/x".
class PathPrefix {
 public:
  // Errors: InvalidArgument when the prefix does not start with "/", holds a query, or is itself
  // ambiguous (the same rules as a request's path); "*" is allowed last only.
  static Result<PathPrefix> Parse(std::string_view rule);

  // `canonical_path`: from CanonicalPolicyPath.
  bool Matches(std::string_view canonical_path) const;

  const std::string& text() const { return text_; }  // as written in the rule

 private:
  std::string text_;
  std::string canonical_;  // without the "*"
  bool by_characters_ = false;
};

}  // namespace mesh
