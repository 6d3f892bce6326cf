// Catalog::builtin: the embedded file set, loaded once. Apart from the loader so that the
// loader's library holds no data (the build-time check and the tests load other sets).
#include <cstdio>
#include <utility>

#include "parley/base/check.h"
#include "parley/catalog/catalog.h"
#include "parley/catalog/embedded.h"

namespace parley::catalog {

const Catalog& Catalog::builtin() {
  static const Catalog catalog = [] {
    Result<Catalog> loaded = load(embedded_type_files());
    if (!loaded.is_ok()) {
      // The build runs the same check (parley-catalog-check), so this is our bug.
      std::fprintf(stderr, "parley: the built-in catalog is broken: %s\n",
                   loaded.status().to_string().c_str());
    }
    PARLEY_CHECK(loaded.is_ok());
    return std::move(loaded).value();
  }();
  return catalog;
}

}  // namespace parley::catalog
