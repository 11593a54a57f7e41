// HttpRequest and HttpResponse: plain values that HTTP handlers take and return, so that the
// handlers are pure functions tested on values and the server only adapts sockets to them.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Query strings are parsed and encoded in base; included here for the handlers and clients that
// build or read an HttpRequest's query.
#include "mesh/base/url_encoding.h"

#include "mesh/base/status.h"

namespace mesh {

class DeferredResponse;

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // decoded, without the query
  std::map<std::string, std::string> query;   // decoded; the last of repeated keys wins
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  std::string remote_addr;
  // Over TLS, the first spiffe:// URI of the client certificate the server verified against its
  // client CA; "" without TLS or without a client certificate. Set by the server, never from a
  // header: the one identity a request carries that the client cannot simply claim.
  std::string peer_spiffe_id;
  std::map<std::string, std::string> path_params;  // filled by the router ({id} -> value)

  // The header's value, or "" when absent. `name` must be lowercase.
  const std::string& Header(const std::string& name) const;
  // The query parameter's value, or "".
  const std::string& Query(const std::string& name) const;
  const std::string& PathParam(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: the answer comes later, from deferred->Complete() (a long-poll; AsioHttpServer only).
  std::shared_ptr<DeferredResponse> deferred;

  static HttpResponse Json(int status, std::string body);
  // {"error": message} with the given status.
  static HttpResponse Error(int status, std::string_view message);
};

// A method or header name is a token (RFC 9110 §5.6.2).
bool IsHttpToken(std::string_view text);
// A header value holds no CR, LF or NUL: it cannot end its line early and start another header.
bool IsSafeHeaderValue(std::string_view value);
// Every header a handler built (and its content type) is safe to write: handlers build header
// values, and one that ever echoed request data must not be able to split the response.
bool HasSafeHeaders(const HttpResponse& response);

// Decodes a request path once, after the server removed its literal "." and ".." segments,
// refusing what decoding would add: an encoded '/' that would change its segments, an encoded
// dot segment, a control character (a NUL would cut the path short). Both HTTP servers use it.
// Errors: InvalidArgument saying which.
Result<std::string> DecodeRequestPath(std::string_view raw);

}  // namespace mesh
