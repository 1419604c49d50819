// What every harness here is: a libFuzzer entry point, built either as a
// fuzzer (clang, -Dfuzz=true) or with replay_main.cpp as a regression test
// that runs its committed corpus. A broken property aborts, so both forms
// report it the same way: libFuzzer keeps the input, the replay fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace lmig::fuzz {

inline void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: broken property: %s\n", what);
    std::abort();
  }
}

} // namespace lmig::fuzz
