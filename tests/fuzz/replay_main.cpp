// Runs a harness over files and directories of inputs once each, for
// builds without libFuzzer: the committed corpus becomes a regression test.
// A broken property aborts (fuzz_target.hpp), which fails the test.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "tests/fuzz/fuzz_target.hpp"

namespace fs = std::filesystem;

namespace {

bool replay(const fs::path &file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s\n", file.c_str()); // names the input an abort is about
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return true;
}

} // namespace

int main(int argc, char **argv) {
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    std::error_code ec;
    if (!fs::is_directory(argv[i], ec)) {
      if (!replay(argv[i]))
        return 1;
      n++;
      continue;
    }
    for (const auto &e : fs::recursive_directory_iterator(argv[i]))
      if (e.is_regular_file()) {
        if (!replay(e.path()))
          return 1;
        n++;
      }
  }
  if (n == 0) {
    std::fprintf(stderr, "replay: no inputs\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", n);
  return 0;
}
