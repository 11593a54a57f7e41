#include "mesh/security/authorization_policy.h"

#include <json/value.h>

#include <algorithm>
#include <optional>

#include "mesh/base/json_text.h"
#include "mesh/security/spiffe_id.h"

namespace mesh {
namespace {

bool IsHttpMethodToken(const std::string& m) {
  return !m.empty() && m.size() <= 32 &&
         std::all_of(m.begin(), m.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '-'; });
}

// A string or an array of strings, each checked by `valid`.
Result<std::vector<std::string>> StringList(const Json::Value& v, const std::string& where,
                                            Status (*valid)(const std::string&)) {
  std::vector<std::string> out;
  if (v.isString()) {
    out.push_back(v.asString());
  } else if (v.isArray() && !v.empty()) {
    for (const Json::Value& item : v) {
      if (!item.isString()) return Status::InvalidArgument(where + ": every item must be a string");
      out.push_back(item.asString());
    }
  } else {
    return Status::InvalidArgument(where + ": must be a string or a non-empty array of strings");
  }
  for (const std::string& s : out) {
    if (Status st = valid(s); !st.ok()) return st.WithContext(where);
  }
  return out;
}

Status ValidServiceOrAny(const std::string& s) { return s == "*" ? Status::Ok() : ValidateServiceName(s); }

Status ValidMethod(const std::string& s) {
  return IsHttpMethodToken(s) ? Status::Ok()
                              : Status::InvalidArgument("'" + s + "' is not an upper-case HTTP method");
}

Status ValidPathPrefix(const std::string& s) { return PathPrefix::Parse(s).status(); }

bool Names(const std::vector<std::string>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return s == "*" || s == name; });
}

}  // namespace

Result<AuthorizationPolicy> AuthorizationPolicy::Parse(std::string_view json) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return doc.status().WithContext("policy");
  if (!doc->isObject()) return Status::InvalidArgument("policy: must be a JSON object with an \"allow\" array");
  for (const std::string& key : doc->getMemberNames()) {
    if (key != "allow") return Status::InvalidArgument("policy: unknown field \"" + key + "\"");
  }
  const Json::Value& allow = (*doc)["allow"];
  if (!allow.isArray()) return Status::InvalidArgument("policy: \"allow\" must be an array");
  AuthorizationPolicy policy;
  for (Json::ArrayIndex i = 0; i < allow.size(); ++i) {
    const std::string where = "policy allow[" + std::to_string(i) + "]";
    const Json::Value& r = allow[i];
    if (!r.isObject()) return Status::InvalidArgument(where + ": must be an object");
    for (const std::string& key : r.getMemberNames()) {
      if (key != "from" && key != "to" && key != "methods" && key != "paths") {
        return Status::InvalidArgument(where + ": unknown field \"" + key + "\"");
      }
    }
    PolicyRule rule;
    for (const char* required : {"from", "to"}) {
      if (!r.isMember(required)) return Status::InvalidArgument(where + ": \"" + required + "\" is required");
    }
    Result<std::vector<std::string>> from = StringList(r["from"], where + ".from", ValidServiceOrAny);
    if (!from.ok()) return from.status();
    Result<std::vector<std::string>> to = StringList(r["to"], where + ".to", ValidServiceOrAny);
    if (!to.ok()) return to.status();
    rule.from = std::move(from).value();
    rule.to = std::move(to).value();
    if (r.isMember("methods")) {
      Result<std::vector<std::string>> methods = StringList(r["methods"], where + ".methods", ValidMethod);
      if (!methods.ok()) return methods.status();
      rule.methods = std::move(methods).value();
    }
    if (r.isMember("paths")) {
      Result<std::vector<std::string>> paths = StringList(r["paths"], where + ".paths", ValidPathPrefix);
      if (!paths.ok()) return paths.status();
      for (const std::string& text : *paths) rule.paths.push_back(*PathPrefix::Parse(text));
    }
    policy.rules_.push_back(std::move(rule));
  }
  return policy;
}

PolicyDecision AuthorizationPolicy::Check(std::string_view caller, std::string_view callee,
                                          std::string_view method, std::string_view path) const {
  if (caller.empty()) return {false, "the caller has no mesh identity"};
  // Worked out for the first rule that needs it.
  std::optional<Result<std::string>> canonical;
  for (const PolicyRule& rule : rules_) {
    if (!Names(rule.from, caller) || !Names(rule.to, callee)) continue;
    if (!rule.methods.empty() && std::find(rule.methods.begin(), rule.methods.end(), method) == rule.methods.end()) {
      continue;
    }
    if (!rule.paths.empty()) {
      if (!canonical) canonical = CanonicalPolicyPath(path);
      if (!canonical->ok()) continue;  // fail closed: an ambiguous path matches no prefix
      const std::string& p = **canonical;
      if (std::none_of(rule.paths.begin(), rule.paths.end(), [&](const PathPrefix& prefix) { return prefix.Matches(p); })) {
        continue;
      }
    }
    return {true, ""};
  }
  if (canonical && !canonical->ok()) {
    return {false, "policy does not allow " + std::string(caller) + " to call " + std::string(callee) + " " +
                       std::string(method) + " on an " + canonical->status().message(),
            true};
  }
  return {false, "policy does not allow " + std::string(caller) + " to call " + std::string(callee) + " " +
                     std::string(method) + " " + std::string(path.substr(0, 200))};
}

}  // namespace mesh
