// parley-catalog-check: loads the embedded catalog files as a gateway would and fails with
// the loader's message if they are broken. The build runs it (CMakeLists.txt), so a broken
// schema, template or example stops the build instead of a gateway at start.
#include <cstdio>

#include "parley/catalog/catalog.h"
#include "parley/catalog/embedded.h"

int main() {
  const std::vector<parley::catalog::SourceFile> files = parley::catalog::embedded_type_files();
  const parley::Result<parley::catalog::Catalog> loaded = parley::catalog::Catalog::load(files);
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "parley-catalog-check: %s\n", loaded.status().message().c_str());
    return 1;
  }
  std::printf("parley-catalog-check: %zu types, languages:", loaded->types().size());
  for (const std::string& lang : loaded->languages()) std::printf(" %s", lang.c_str());
  std::printf("\n");
  return 0;
}
