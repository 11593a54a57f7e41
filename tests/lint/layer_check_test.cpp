#include "layer_check.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mesh::lint {
namespace {

namespace fs = std::filesystem;

// A small mesh-shaped source tree in a fresh temp dir, removed on destruction: layers base,
// telemetry -> base, http -> base, store -> telemetry, one tool "meshx" on store, and one
// header per layer. Tests add or overwrite files to plant what they check.
class Tree {
 public:
  Tree() {
    std::string tmpl = (fs::temp_directory_path() / "layer_check_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    root_ = tmpl;
    Write("CMakeLists.txt",
          "set(MESH_TOOL_LAYER_meshx mesh_store)\n"
          "foreach(tool meshy meshz)\n  set(MESH_TOOL_LAYER_${tool} mesh_http)\nendforeach()\n");
    Write("lib/mesh/CMakeLists.txt", "foreach(layer base telemetry http store)\nendforeach()\n");
    Layer("base", "target_link_libraries(mesh_base PUBLIC Threads::Threads)\n");
    Layer("telemetry", "target_link_libraries(mesh_telemetry PUBLIC mesh_base)\n");
    Layer("http", "target_link_libraries(mesh_http PUBLIC mesh_base PRIVATE ZLIB::ZLIB)\n");
    Layer("store",
          "# store: SQLite.\n"
          "target_link_libraries(mesh_store\n  PUBLIC mesh_telemetry  # the data model\n"
          "  PRIVATE SQLite::SQLite3)\n");
    Write("lib/mesh/store/s.cpp",
          "#include \"mesh/store/s.h\"\n#include <sqlite3.h>\n"
          "const char* kQuery = \"SELECT id FROM spans\";\n");
    Write("cmd/meshx/main.cpp", "#include \"mesh/store/s.h\"\n#include \"mesh/base/b.h\"\n");
    Write("cmd/meshy/main.cpp", "#include \"mesh/http/h.h\"\n");
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path, std::ios::binary) << text;
  }
  // A layer folder: its CMakeLists.txt and a header mesh/<name>/<first letter>.h.
  void Layer(const std::string& name, const std::string& link) {
    Write("lib/mesh/" + name + "/CMakeLists.txt",
          "add_library(mesh_" + name + " STATIC x.cpp)\n" + link);
    Write("lib/mesh/" + name + "/" + name.substr(0, 1) + ".h", "#pragma once\n");
  }
  std::vector<std::string> Check() const {
    std::vector<std::string> out;
    for (const Violation& v : CheckTree(root_)) out.push_back(FormatViolation(v));
    return out;
  }

 private:
  fs::path root_;
};

TEST(LayerCheck, CleanTreePasses) {
  Tree tree;
  EXPECT_EQ(tree.Check(), std::vector<std::string>{});
}

TEST(LayerCheck, UpwardIncludeFailsNamingFileLineAndEdge) {
  Tree tree;
  tree.Write("lib/mesh/base/b.cpp", "#include \"mesh/base/b.h\"\n\n#include \"mesh/store/s.h\"\n");
  EXPECT_EQ(
      tree.Check(),
      std::vector<std::string>{
          "lib/mesh/base/b.cpp:3: base -> store (mesh/store/s.h): base does not depend on store"});
}

TEST(LayerCheck, ConfiguredSourcesAreCheckedToo) {
  Tree tree;
  tree.Write("lib/mesh/http/page.cpp.in",
             "#include \"mesh/store/s.h\"\nconst char* kPage = R\"(@PAGE@)\";\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{"lib/mesh/http/page.cpp.in:1: http -> store (mesh/store/s.h): "
                                     "http does not depend on store"});
}

TEST(LayerCheck, TransitiveDependencyIsAllowed) {
  Tree tree;
  // store -> telemetry -> base.
  tree.Write("lib/mesh/store/s.h",
             "#pragma once\n#include \"mesh/base/b.h\"\n#include \"mesh/telemetry/t.h\"\n");
  EXPECT_EQ(tree.Check(), std::vector<std::string>{});
}

TEST(LayerCheck, IncludeOfALayerThatIsNoDependencyFails) {
  Tree tree;
  // telemetry and http both sit on base, but telemetry does not depend on http.
  tree.Write("lib/mesh/telemetry/t.cpp", "#include <string>\n#include \"mesh/http/h.h\"\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{"lib/mesh/telemetry/t.cpp:2: telemetry -> http "
                                     "(mesh/http/h.h): telemetry does not depend on http"});
}

TEST(LayerCheck, CycleAmongLayersFails) {
  Tree tree;
  tree.Layer("base", "target_link_libraries(mesh_base PUBLIC mesh_store)\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{
                "lib/mesh/base/CMakeLists.txt:2: layer cycle: base -> store -> telemetry -> base: "
                "layers must depend on each other in one direction"});
}

TEST(LayerCheck, LinkingAMeshTargetThatIsNoLayerFails) {
  Tree tree;
  tree.Layer("http", "target_link_libraries(mesh_http PUBLIC mesh_base mesh_nowhere)\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{
                "lib/mesh/http/CMakeLists.txt:2: http links mesh_nowhere, which is no layer: "
                "lib/mesh/nowhere/CMakeLists.txt does not exist"});
}

TEST(LayerCheck, SqlInAStringLiteralOutsideStoreFails) {
  Tree tree;
  tree.Write("lib/mesh/http/h.cpp",
             "#include \"mesh/http/h.h\"\nvoid F() {\n  Run(\"  delete from logs \"\n      \"WHERE "
             "id = ?\");\n}\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{
                "lib/mesh/http/h.cpp:3: SQL outside store: \"  delete from logs WHERE id = ?\": "
                "every SQL statement lives in lib/mesh/store/"});
}

TEST(LayerCheck, SqlInACommentIsNoViolation) {
  Tree tree;
  tree.Write(
      "lib/mesh/http/h.cpp",
      "// tracer.StartChild(span, \"SELECT cart\");\n/* \"PRAGMA x\"\n \"INSERT INTO t\" */\n"
      "const char* kHelp = \"Select a service\";  // \"CREATE TABLE t\"\n");
  tree.Write("cmd/meshy/main.cpp", "#include \"mesh/http/h.h\"\n// \"UPDATE t SET a = 1\"\n");
  EXPECT_EQ(tree.Check(), std::vector<std::string>{});
}

TEST(LayerCheck, SqlInsideStoreIsFine) {
  Tree tree;
  tree.Write("lib/mesh/store/w.cpp",
             "#include \"mesh/store/sqlite_db.h\"\nconst char* k = R\"(CREATE TABLE spans (id "
             "INTEGER))\";\n");
  tree.Write("lib/mesh/store/sqlite_db.h", "#include <sqlite3.h>\n");
  EXPECT_EQ(tree.Check(), std::vector<std::string>{});
}

TEST(LayerCheck, SqliteOutsideStoreFailsEvenWhereStoreIsADependency) {
  Tree tree;
  tree.Write("lib/mesh/store/sqlite_db.h", "#pragma once\n");
  tree.Write("cmd/meshx/main.cpp", "#include <sqlite3.h>\n#include \"mesh/store/sqlite_db.h\"\n");
  EXPECT_EQ(tree.Check(),
            (std::vector<std::string>{
                "cmd/meshx/main.cpp:1: includes sqlite3.h: only lib/mesh/store/ talks to SQLite",
                "cmd/meshx/main.cpp:2: includes mesh/store/sqlite_db.h: only lib/mesh/store/ talks "
                "to SQLite"}));
}

TEST(LayerCheck, Nghttp2OutsideHttp2Fails) {
  Tree tree;
  tree.Layer("http2", "target_link_libraries(mesh_http2 PUBLIC mesh_http PRIVATE PkgConfig::NGHTTP2)\n");
  tree.Write("lib/mesh/http2/session.cpp", "#include <nghttp2/nghttp2.h>\n");
  tree.Write("lib/mesh/http/h2.cpp", "// <nghttp2/nghttp2.h> in a comment is fine\n#include <nghttp2/nghttp2.h>\n");
  EXPECT_EQ(tree.Check(), std::vector<std::string>{
                              "lib/mesh/http/h2.cpp:2: includes nghttp2/nghttp2.h: only lib/mesh/http2/ talks to nghttp2"});
}

TEST(LayerCheck, MissingHeaderFails) {
  Tree tree;
  tree.Write("lib/mesh/telemetry/t.cpp", "#include \"mesh/base/gone.h\"\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{
                "lib/mesh/telemetry/t.cpp:1: includes mesh/base/gone.h, which does not exist"});
}

TEST(LayerCheck, HeaderOutsideALayerFolderFails) {
  Tree tree;
  tree.Write("lib/mesh/old.h", "#pragma once\n");
  tree.Write("lib/mesh/base/b.cpp", "#include \"mesh/old.h\"\n#include \"../store/s.h\"\n");
  EXPECT_EQ(tree.Check(),
            (std::vector<std::string>{
                "lib/mesh/base/b.cpp:1: includes mesh/old.h, which is in no layer folder: write "
                "mesh/<layer>/x.h",
                "lib/mesh/base/b.cpp:2: includes \"../store/s.h\": write the library's headers as "
                "\"mesh/<layer>/x.h\"",
                "lib/mesh/old.h:1: file outside a layer folder: move it into lib/mesh/<layer>/"}));
}

TEST(LayerCheck, ToolIncludesOnlyItsLayerAndWhatItDependsOn) {
  Tree tree;
  // meshy's layer is http, set through the foreach.
  tree.Write("cmd/meshy/main.cpp", "#include \"mesh/base/b.h\"\n#include \"mesh/store/s.h\"\n");
  EXPECT_EQ(
      tree.Check(),
      std::vector<std::string>{
          "cmd/meshy/main.cpp:2: meshy (http) -> store (mesh/store/s.h): http does not depend on "
          "store"});
}

TEST(LayerCheck, ToolsMayShareAHeaderOfCmdButNotReachIntoTheLibraryWithIt) {
  Tree tree;
  tree.Write("cmd/common.h", "#pragma once\n");
  tree.Write("cmd/meshy/main.cpp", "#include \"cmd/common.h\"\n#include \"cmd/missing.h\"\n");
  tree.Write("lib/mesh/base/b.cpp", "#include \"cmd/common.h\"\n");
  EXPECT_EQ(tree.Check(),
            (std::vector<std::string>{
                "cmd/meshy/main.cpp:2: includes \"cmd/missing.h\": write the library's headers as "
                "\"mesh/<layer>/x.h\"",
                "lib/mesh/base/b.cpp:1: includes \"cmd/common.h\": write the library's headers as "
                "\"mesh/<layer>/x.h\""}));
}

TEST(LayerCheck, ToolWithoutALayerFails) {
  Tree tree;
  tree.Write("cmd/meshq/main.cpp", "int main() {}\n");
  EXPECT_EQ(tree.Check(),
            std::vector<std::string>{
                "cmd/meshq/main.cpp:1: CMakeLists.txt sets no MESH_TOOL_LAYER_meshq naming a layer "
                "(mesh_<layer>): the tool's includes cannot be checked"});
}

TEST(LayerCheck, IncludesInCommentsAreIgnored) {
  Tree tree;
  tree.Write("lib/mesh/base/b.cpp",
             "// #include \"mesh/store/s.h\"\n/*\n#include \"mesh/store/s.h\"\n*/\n");
  EXPECT_EQ(tree.Check(), std::vector<std::string>{});
}

TEST(ScanSource, BlanksCommentsAndKeepsLines) {
  const ScannedSource s = ScanSource("a // b\n/* c\n d */ e\n");
  EXPECT_EQ(s.code, "a     \n    \n      e\n");
}

TEST(ScanSource, ReadsRawStringsWithDelimiters) {
  const ScannedSource s = ScanSource("x\nauto q = R\"sql(SELECT \")\" // not a comment)sql\";\n");
  ASSERT_EQ(s.literals.size(), 1u);
  EXPECT_EQ(s.literals[0].line, 2);
  EXPECT_EQ(s.literals[0].text, "SELECT \")\" // not a comment");
}

TEST(ScanSource, CharacterLiteralsAndDigitSeparatorsOpenNoString) {
  const ScannedSource s =
      ScanSource("char q = '\"'; int n = 1'000'000; char e = '\\''; auto t = \"x\";");
  ASSERT_EQ(s.literals.size(), 1u);
  EXPECT_EQ(s.literals[0].text, "x");
}

TEST(ScanSource, JoinsAdjacentLiteralsAcrossCommentsButNotAcrossCode) {
  const ScannedSource s = ScanSource("f(\"a\" /* c */\n  \"b\", \"c\");\n\"unterminated\n");
  ASSERT_EQ(s.literals.size(), 3u);
  EXPECT_EQ(s.literals[0].text, "ab");
  EXPECT_EQ(s.literals[1].text, "c");
  EXPECT_EQ(s.literals[2].text, "unterminated");
}

TEST(ScanSource, EscapedQuoteStaysInsideTheLiteral) {
  const ScannedSource s = ScanSource(R"(auto t = "say \"SELECT\" // x";)");
  ASSERT_EQ(s.literals.size(), 1u);
  EXPECT_EQ(s.literals[0].text, R"(say \"SELECT\" // x)");
}

TEST(LooksLikeSql, MatchesStatementsInAnyCaseAndNotProse) {
  EXPECT_TRUE(LooksLikeSql("SELECT id FROM spans"));
  EXPECT_TRUE(LooksLikeSql("\n  insert into logs VALUES (?)"));
  EXPECT_TRUE(LooksLikeSql("update alert_state set value = ?"));
  EXPECT_TRUE(LooksLikeSql("CREATE VIRTUAL TABLE logs_fts USING fts5(message)"));
  EXPECT_TRUE(LooksLikeSql("PRAGMA wal_checkpoint(PASSIVE)"));
  EXPECT_TRUE(LooksLikeSql("select id from spans"));
  EXPECT_FALSE(LooksLikeSql("Select a service"));
  EXPECT_FALSE(LooksLikeSql("Update rules set by the operator"));
  EXPECT_FALSE(LooksLikeSql("update the rules"));
  EXPECT_FALSE(LooksLikeSql("SELECTED"));
  EXPECT_FALSE(LooksLikeSql("the SELECT statement"));
  EXPECT_FALSE(LooksLikeSql("delete the file"));
}

TEST(ParseCMake, SplitsArgumentsAndDropsComments) {
  const std::vector<CMakeCommand> c = ParseCMake(
      "# head\nTarget_Link_Libraries(mesh_a\n  PUBLIC mesh_b # why\n  \"mesh_c\")\nset(X "
      "$<IF:a,b>)\n");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].name, "target_link_libraries");
  EXPECT_EQ(c[0].line, 2);
  EXPECT_EQ(c[0].args, (std::vector<std::string>{"mesh_a", "PUBLIC", "mesh_b", "mesh_c"}));
  EXPECT_EQ(c[1].args, (std::vector<std::string>{"X", "$<IF:a,b>"}));
}

}  // namespace
}  // namespace mesh::lint
