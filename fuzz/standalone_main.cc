// A main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once over
// every file named on the command line (directories are walked, in sorted order). CTest uses
// it to replay fuzz/corpus/<target>/ on every compiler; a crash or abort fails the test.
// Exits 1 if no input was found, so that a missing corpus is not a silent pass.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> text((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
  // An exact-size heap copy, so that AddressSanitizer sees any read past the end.
  const auto data = std::make_unique<std::uint8_t[]>(text.size());
  std::copy(text.begin(), text.end(), data.get());
  LLVMFuzzerTestOneInput(data.get(), text.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 1;
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE... (no inputs found)\n", argv[0]);
    return 1;
  }
  for (const auto& file : files) {
    if (!run_file(file)) return 1;
  }
  std::printf("ran %zu inputs without a crash\n", files.size());
  return 0;
}
