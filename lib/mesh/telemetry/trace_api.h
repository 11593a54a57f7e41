// The wire form of meshd's trace list, both sides: the query parameters of GET /v1/traces and
// its JSON answer. meshd decodes what meshtrace --server encodes and the reverse, so a remote
// `meshtrace list` prints what a local one prints. Pure functions, thread-safe.
//
//   GET /v1/traces?service=S&operation=O&min_duration=<n>ns&max_duration=<n>ns&errors=true
//                 &attr=<key>=<value>&trace_prefix=<hex>&since=<unix s>&until=<unix s>&limit=N
//   -> {"traces":[{"trace_id","start","start_ns","duration_ns","root_service","root_name",
//                  "span_count","services":[...],"error"}, ...]}
//
// The parameters are returned decoded (as HttpRequest::query holds them): URL-escaping them
// is the HTTP layer's job. limit is the route's, not the filter's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/trace_query.h"

namespace mesh {

// Only the filter's set fields become parameters.
std::map<std::string, std::string> TraceFilterToQuery(const TraceFilter& filter);
// Times may be anything ParseTimeSpec reads (relative to now_ns); errors is true/1 or
// false/0; attr is ParseAttributeMatch's form; trace_prefix is 1 to 32 hex digits (either case).
// Errors: InvalidArgument "parameter <name>: <why>".
Result<TraceFilter> TraceFilterFromQuery(const std::map<std::string, std::string>& query, int64_t now_ns);

// "key=value", split at the first '=' (a value may hold '='; the key may not be empty).
// Errors: InvalidArgument.
Result<AttributeMatch> ParseAttributeMatch(std::string_view text);

// Appends one entry of the list: also what `meshtrace list -o json` prints per line.
void AppendJson(std::string& out, const TraceSummary& trace);
std::string EncodeTraceList(const std::vector<TraceSummary>& traces);
// Errors: InvalidArgument for anything but a list as EncodeTraceList writes it (a missing
// member takes its default; a member of the wrong type is an error).
Result<std::vector<TraceSummary>> DecodeTraceList(std::string_view json);

}  // namespace mesh
