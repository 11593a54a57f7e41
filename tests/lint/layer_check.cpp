#include "layer_check.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

namespace mesh::lint {
namespace fs = std::filesystem;
namespace {

using LayerSet = std::set<std::string>;

bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

int LineAt(std::string_view text, size_t pos) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

std::optional<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Relative(const fs::path& root, const fs::path& path) {
  return path.lexically_relative(root).generic_string();
}

// Regular files under `dir` with one of the extensions, sorted so that reports are stable.
std::vector<fs::path> SourcesUnder(const fs::path& dir) {
  static const std::set<std::string> kExtensions = {".h", ".hpp", ".cc", ".cpp", ".in"};
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && kExtensions.count(entry.path().extension().string())) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Include {
  int line;
  bool quoted;       // "x.h" rather than <x.h>
  std::string path;  // as written between the quotes or angle brackets
};

std::vector<Include> IncludesOf(const std::string& code) {
  static const std::regex kInclude(R"(^[ \t]*#[ \t]*include[ \t]*(["<])([^">]+)[">])");
  std::vector<Include> out;
  std::istringstream in(code);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (std::regex_search(line, m, kInclude)) out.push_back({n, m[1].str() == "\"", m[2].str()});
  }
  return out;
}

// The layer graph as the build declares it.
struct Layers {
  std::map<std::string, LayerSet> deps;     // direct, from target_link_libraries
  std::map<std::string, int> link_line;     // of the layer's target_link_libraries call
  std::map<std::string, LayerSet> closure;  // transitive, the layer itself excluded
};

void ReadLayerDeps(const fs::path& root, Layers& layers, std::vector<Violation>& out) {
  for (auto& [layer, deps] : layers.deps) {
    const fs::path cmake = root / "lib/mesh" / layer / "CMakeLists.txt";
    const std::optional<std::string> text = ReadText(cmake);
    if (!text) {
      out.push_back({Relative(root, cmake), 1, "cannot be read"});
      continue;
    }
    for (const CMakeCommand& c : ParseCMake(*text)) {
      if (c.name != "target_link_libraries" || c.args.empty() || c.args[0] != "mesh_" + layer)
        continue;
      layers.link_line.emplace(layer, c.line);
      for (size_t i = 1; i < c.args.size(); ++i) {
        if (c.args[i].rfind("mesh_", 0) != 0) continue;
        const std::string dep = c.args[i].substr(5);
        if (layers.deps.count(dep)) {
          deps.insert(dep);
        } else {
          out.push_back({Relative(root, cmake), c.line,
                         layer + " links " + c.args[i] + ", which is no layer: lib/mesh/" + dep +
                             "/CMakeLists.txt does not exist"});
        }
      }
    }
  }
}

// Reports each cycle once, rotated to start at its smallest layer, at that layer's link line.
void ReportCycles(const Layers& layers, std::vector<Violation>& out) {
  std::map<std::string, int> state;  // absent: unvisited, 1: on the stack, 2: done
  std::vector<std::string> stack;
  std::set<std::vector<std::string>> cycles;
  std::function<void(const std::string&)> visit = [&](const std::string& layer) {
    state[layer] = 1;
    stack.push_back(layer);
    for (const std::string& dep : layers.deps.at(layer)) {
      if (state[dep] == 1) {
        std::vector<std::string> cycle(std::find(stack.begin(), stack.end(), dep), stack.end());
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        cycles.insert(cycle);
      } else if (state[dep] == 0) {
        visit(dep);
      }
    }
    stack.pop_back();
    state[layer] = 2;
  };
  for (const auto& entry : layers.deps) {
    if (state[entry.first] == 0) visit(entry.first);
  }
  for (const std::vector<std::string>& cycle : cycles) {
    std::string path;
    for (const std::string& layer : cycle) path += layer + " -> ";
    path += cycle.front();
    const auto line = layers.link_line.find(cycle.front());
    out.push_back({"lib/mesh/" + cycle.front() + "/CMakeLists.txt",
                   line == layers.link_line.end() ? 1 : line->second,
                   "layer cycle: " + path + ": layers must depend on each other in one direction"});
  }
}

void ComputeClosures(Layers& layers) {
  for (const auto& entry : layers.deps) {
    LayerSet& reach = layers.closure[entry.first];
    std::vector<std::string> todo(entry.second.begin(), entry.second.end());
    while (!todo.empty()) {
      const std::string layer = todo.back();
      todo.pop_back();
      if (!reach.insert(layer).second) continue;
      for (const std::string& dep : layers.deps.at(layer)) todo.push_back(dep);
    }
    reach.erase(entry.first);
  }
}

// Checks one file's mesh includes against what `layer` may use. `who` names the includer in
// the edge ("proxy", or "meshd (controlplane)" for a tool).
void CheckIncludes(const fs::path& root, const std::string& rel,
                   const std::vector<Include>& includes, const std::string& layer,
                   const std::string& who, const Layers& layers, std::vector<Violation>& out) {
  const LayerSet& allowed = layers.closure.at(layer);
  for (const Include& inc : includes) {
    if (inc.path.rfind("mesh/", 0) != 0) {
      // The mains share headers of their own in cmd/ (cmd/command_line.h): not the library's.
      const bool shared_by_the_mains = rel.rfind("cmd/", 0) == 0 && inc.path.rfind("cmd/", 0) == 0 &&
                                       inc.path.find('/', 4) == std::string::npos &&
                                       fs::is_regular_file(root / inc.path);
      // A path relative to the includer ("../store/x.h") would slip past the check.
      if (inc.quoted && !shared_by_the_mains) {
        out.push_back(
            {rel, inc.line,
             "includes \"" + inc.path + "\": write the library's headers as \"mesh/<layer>/x.h\""});
      }
      continue;
    }
    const std::string rest = inc.path.substr(5);
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) {
      out.push_back(
          {rel, inc.line,
           "includes " + inc.path + ", which is in no layer folder: write mesh/<layer>/x.h"});
      continue;
    }
    const std::string target = rest.substr(0, slash);
    if (!layers.deps.count(target)) {
      out.push_back({rel, inc.line, "includes " + inc.path + ", but " + target + " is no layer"});
      continue;
    }
    if (!fs::is_regular_file(root / "lib" / inc.path)) {
      out.push_back({rel, inc.line, "includes " + inc.path + ", which does not exist"});
    }
    if (target != layer && !allowed.count(target)) {
      out.push_back({rel, inc.line,
                     who + " -> " + target + " (" + inc.path + "): " + layer +
                         " does not depend on " + target});
    }
  }
}

void CheckLayerFiles(const fs::path& root, const Layers& layers, std::vector<Violation>& out) {
  for (const auto& entry : layers.deps) {
    const std::string& layer = entry.first;
    for (const fs::path& file : SourcesUnder(root / "lib/mesh" / layer)) {
      const std::string rel = Relative(root, file);
      const std::optional<std::string> text = ReadText(file);
      if (!text) {
        out.push_back({rel, 1, "cannot be read"});
        continue;
      }
      const ScannedSource scan = ScanSource(*text);
      CheckIncludes(root, rel, IncludesOf(scan.code), layer, layer, layers, out);
    }
  }
}

// MESH_TOOL_LAYER_<tool> settings of the top-level CMakeLists.txt, with foreach(tool a b c)
// expanded: tool -> layer.
std::map<std::string, std::string> ToolLayers(const std::string& cmake_text) {
  std::map<std::string, std::string> out;
  std::vector<std::vector<std::string>> loops;  // foreach args: variable, items...
  for (const CMakeCommand& c : ParseCMake(cmake_text)) {
    if (c.name == "foreach") {
      loops.push_back(c.args);
    } else if (c.name == "endforeach") {
      if (!loops.empty()) loops.pop_back();
    } else if (c.name == "set" && c.args.size() >= 2 &&
               c.args[0].rfind("MESH_TOOL_LAYER_", 0) == 0 && c.args[1].rfind("mesh_", 0) == 0) {
      const std::string tool = c.args[0].substr(16);
      const std::string layer = c.args[1].substr(5);
      bool expanded = false;
      for (const std::vector<std::string>& loop : loops) {
        if (loop.empty() || tool != "${" + loop[0] + "}") continue;
        for (size_t i = 1; i < loop.size(); ++i) out[loop[i]] = layer;
        expanded = true;
      }
      if (!expanded) out[tool] = layer;
    }
  }
  return out;
}

void CheckTools(const fs::path& root, const Layers& layers, std::vector<Violation>& out) {
  const fs::path cmd = root / "cmd";
  std::error_code ec;
  if (!fs::is_directory(cmd, ec)) return;
  const std::optional<std::string> top = ReadText(root / "CMakeLists.txt");
  const std::map<std::string, std::string> tool_layers = ToolLayers(top.value_or(""));
  std::vector<fs::path> tools;
  for (const auto& entry : fs::directory_iterator(cmd, ec)) {
    if (entry.is_directory()) tools.push_back(entry.path());
  }
  std::sort(tools.begin(), tools.end());
  for (const fs::path& dir : tools) {
    const std::string tool = dir.filename().string();
    const auto layer = tool_layers.find(tool);
    const bool known = layer != tool_layers.end() && layers.deps.count(layer->second);
    for (const fs::path& file : SourcesUnder(dir)) {
      const std::string rel = Relative(root, file);
      if (!known) {
        out.push_back(
            {rel, 1,
             "CMakeLists.txt sets no MESH_TOOL_LAYER_" + tool +
                 " naming a layer (mesh_<layer>): the tool's includes cannot be checked"});
        continue;
      }
      const std::optional<std::string> text = ReadText(file);
      if (!text) {
        out.push_back({rel, 1, "cannot be read"});
        continue;
      }
      CheckIncludes(root, rel, IncludesOf(ScanSource(*text).code), layer->second,
                    tool + " (" + layer->second + ")", layers, out);
    }
  }
}

void CheckSqlOutsideStore(const fs::path& root, std::vector<Violation>& out) {
  for (const char* top : {"lib", "cmd"}) {
    for (const fs::path& file : SourcesUnder(root / top)) {
      const std::string rel = Relative(root, file);
      if (rel.rfind("lib/mesh/store/", 0) == 0) continue;
      const std::optional<std::string> text = ReadText(file);
      if (!text) {
        out.push_back({rel, 1, "cannot be read"});
        continue;
      }
      const ScannedSource scan = ScanSource(*text);
      for (const Include& inc : IncludesOf(scan.code)) {
        if (inc.path == "sqlite3.h" || inc.path == "mesh/store/sqlite_db.h") {
          out.push_back(
              {rel, inc.line, "includes " + inc.path + ": only lib/mesh/store/ talks to SQLite"});
        }
      }
      for (const StringLiteral& literal : scan.literals) {
        if (!LooksLikeSql(literal.text)) continue;
        std::string shown = literal.text.substr(0, 60);
        if (shown.size() < literal.text.size()) shown += "...";
        out.push_back(
            {rel, literal.line,
             "SQL outside store: \"" + shown + "\": every SQL statement lives in lib/mesh/store/"});
      }
    }
  }
}

// nghttp2 is the http2 layer's: every other layer speaks HTTP/2 through it, so that meshproxy and
// meshd share one engine and a second HTTP/2 stack cannot grow beside it.
void CheckNghttp2OutsideHttp2(const fs::path& root, std::vector<Violation>& out) {
  for (const char* top : {"lib", "cmd"}) {
    for (const fs::path& file : SourcesUnder(root / top)) {
      const std::string rel = Relative(root, file);
      if (rel.rfind("lib/mesh/http2/", 0) == 0) continue;
      const std::optional<std::string> text = ReadText(file);
      if (!text) continue;  // reported by CheckSqlOutsideStore
      for (const Include& inc : IncludesOf(ScanSource(*text).code)) {
        if (inc.path.rfind("nghttp2/", 0) == 0) {
          out.push_back({rel, inc.line, "includes " + inc.path + ": only lib/mesh/http2/ talks to nghttp2"});
        }
      }
    }
  }
}

}  // namespace

std::string FormatViolation(const Violation& v) {
  return v.path + ":" + std::to_string(v.line) + ": " + v.message;
}

ScannedSource ScanSource(std::string_view text) {
  ScannedSource out;
  out.code.assign(text);
  size_t last_literal_end = std::string::npos;  // in `text`, for joining adjacent literals
  const auto blank = [&](size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) {
      if (out.code[k] != '\n') out.code[k] = ' ';
    }
  };
  const auto add_literal = [&](size_t start, size_t end, std::string contents) {
    const bool adjacent =
        last_literal_end != std::string::npos && !out.literals.empty() &&
        std::all_of(out.code.begin() + last_literal_end, out.code.begin() + start,
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
    if (adjacent) {
      out.literals.back().text += contents;
    } else {
      out.literals.push_back({LineAt(text, start), std::move(contents)});
    }
    last_literal_end = end;
  };
  // The end of a quoted literal opened at `i`: its closing quote, or the end of the line or text.
  const auto closing = [&](size_t i, char quote) {
    size_t j = i + 1;
    while (j < text.size() && text[j] != quote && text[j] != '\n') j += text[j] == '\\' ? 2 : 1;
    return std::min(j, text.size());
  };
  const auto past = [&](size_t j) { return j < text.size() && text[j] != '\n' ? j + 1 : j; };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      const size_t end = std::min(text.find('\n', i), text.size());
      blank(i, end);
      i = end;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t close = text.find("*/", i + 2);
      const size_t end = close == std::string_view::npos ? text.size() : close + 2;
      blank(i, end);
      i = end;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      // A pp-number, so that a digit separator (1'000) opens no character literal.
      ++i;
      while (i < text.size() && (IsIdentChar(text[i]) || text[i] == '.' || text[i] == '\'' ||
                                 ((text[i] == '+' || text[i] == '-') &&
                                  std::strchr("eEpP", text[i - 1]) != nullptr))) {
        ++i;
      }
    } else if (IsIdentChar(c)) {
      size_t j = i;
      while (j < text.size() && IsIdentChar(text[j])) ++j;
      const std::string_view word = text.substr(i, j - i);
      const bool raw =
          !word.empty() && word.back() == 'R' &&
          (word == "R" || word == "LR" || word == "uR" || word == "UR" || word == "u8R");
      if (raw && j < text.size() && text[j] == '"') {
        const size_t open = text.find('(', j + 1);
        if (open == std::string_view::npos) {
          i = text.size();
          continue;
        }
        const std::string close = ")" + std::string(text.substr(j + 1, open - j - 1)) + "\"";
        const size_t end = text.find(close, open + 1);
        const size_t stop = end == std::string_view::npos ? text.size() : end;
        const size_t after = end == std::string_view::npos ? text.size() : end + close.size();
        add_literal(j, after, std::string(text.substr(open + 1, stop - open - 1)));
        i = after;
      } else {
        // A prefix (L, u, U, u8) is read as a word; the quote that follows is lexed next.
        i = j;
      }
    } else if (c == '"') {
      const size_t end = closing(i, '"');
      add_literal(i, past(end), std::string(text.substr(i + 1, end - i - 1)));
      i = past(end);
    } else if (c == '\'') {
      i = past(closing(i, '\''));
    } else {
      ++i;
    }
  }
  return out;
}

bool LooksLikeSql(std::string_view literal) {
  static const std::regex kSql(
      R"(^\s*(SELECT|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|PRAGMA|)"
      R"(CREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX|VIRTUAL\s+TABLE|TRIGGER|VIEW))\b)",
      std::regex::icase);
  if (!std::regex_search(literal.begin(), literal.end(), kSql)) return false;
  // "Select a service" is prose: SQL keywords are written in one case, upper or lower.
  const auto first = std::find_if(literal.begin(), literal.end(), [](char c) {
    return !std::isspace(static_cast<unsigned char>(c));
  });
  const auto last = std::find_if(
      first, literal.end(), [](char c) { return !std::isalpha(static_cast<unsigned char>(c)); });
  const auto upper = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
  return std::all_of(first, last, upper) || std::none_of(first, last, upper);
}

std::vector<CMakeCommand> ParseCMake(std::string_view text) {
  std::vector<CMakeCommand> out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '#') {
      i = std::min(text.find('\n', i), text.size());
    } else if (std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_') {
      size_t j = i;
      while (j < text.size() && IsIdentChar(text[j])) ++j;
      size_t k = j;
      while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
      if (k >= text.size() || text[k] != '(') {
        i = j;
        continue;
      }
      CMakeCommand command;
      command.line = LineAt(text, i);
      for (size_t n = i; n < j; ++n) {
        command.name += static_cast<char>(std::tolower(static_cast<unsigned char>(text[n])));
      }
      std::string arg;
      bool in_arg = false;
      int depth = 1;
      for (k = k + 1; k < text.size() && depth > 0; ++k) {
        const char c = text[k];
        if (c == '"') {
          const size_t end = std::min(text.find('"', k + 1), text.size());
          arg += text.substr(k + 1, end - k - 1);
          in_arg = true;
          k = end;
        } else if (c == '#') {
          k = std::min(text.find('\n', k), text.size()) - 1;
        } else if (std::isspace(static_cast<unsigned char>(c)) || (c == ')' && depth == 1)) {
          if (in_arg) command.args.push_back(arg);
          arg.clear();
          in_arg = false;
          if (c == ')') depth = 0;
        } else {
          depth += c == '(' ? 1 : c == ')' ? -1 : 0;
          arg += c;
          in_arg = true;
        }
      }
      out.push_back(std::move(command));
      i = k;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<Violation> CheckTree(const fs::path& root) {
  std::vector<Violation> out;
  Layers layers;
  const fs::path lib_mesh = root / "lib/mesh";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(lib_mesh, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory()) {
      if (fs::is_regular_file(entry.path() / "CMakeLists.txt")) {
        layers.deps[name];
      } else {
        out.push_back(
            {Relative(root, entry.path()), 1,
             "folder without CMakeLists.txt: each folder of lib/mesh/ is a layer library"});
      }
    } else if (name != "CMakeLists.txt") {
      out.push_back({Relative(root, entry.path()), 1,
                     "file outside a layer folder: move it into lib/mesh/<layer>/"});
    }
  }
  if (ec) out.push_back({Relative(root, lib_mesh), 1, "cannot be listed: " + ec.message()});
  ReadLayerDeps(root, layers, out);
  ReportCycles(layers, out);
  ComputeClosures(layers);
  CheckLayerFiles(root, layers, out);
  CheckTools(root, layers, out);
  CheckSqlOutsideStore(root, out);
  CheckNghttp2OutsideHttp2(root, out);
  std::stable_sort(out.begin(), out.end(), [](const Violation& a, const Violation& b) {
    return std::tie(a.path, a.line) < std::tie(b.path, b.line);
  });
  return out;
}

}  // namespace mesh::lint
