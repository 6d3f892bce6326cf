// embedded: the catalog's files, compiled into the binary by CMake (embed.cmake turns each
// file's bytes into an array), so that a gateway never depends on a file at run time.
#pragma once

#include <vector>

#include "parley/catalog/catalog.h"

namespace parley::catalog {

// src/parley/catalog/types/*.json, sorted by name.
std::vector<SourceFile> embedded_type_files();

// The JSON Schema draft-07 meta-schema (meta/draft-07.json, from json-schema.org), which
// every type's schema must satisfy.
std::vector<SourceFile> embedded_metaschema_files();

}  // namespace parley::catalog
