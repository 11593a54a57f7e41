// layer_check SOURCE_ROOT: prints every violation of the layers' direction, one per line, and
// exits 1 when there is any, 0 when the tree is clean, 2 on a usage error.
#include <filesystem>
#include <iostream>

#include "layer_check.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: layer_check SOURCE_ROOT\n";
    return 2;
  }
  const std::filesystem::path root = argv[1];
  if (!std::filesystem::is_directory(root / "lib" / "mesh")) {
    std::cerr << "layer_check: " << (root / "lib" / "mesh").string()
              << " is not a directory (pass the root of the mesh source tree)\n";
    return 2;
  }
  const std::vector<mesh::lint::Violation> violations = mesh::lint::CheckTree(root);
  for (const mesh::lint::Violation& v : violations)
    std::cout << mesh::lint::FormatViolation(v) << "\n";
  if (violations.empty()) return 0;
  std::cerr << "layer_check: " << violations.size()
            << " violation(s) of the layers' direction (docs/architecture.md)\n";
  return 1;
}
