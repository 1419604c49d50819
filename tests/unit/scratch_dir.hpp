// A scratch directory for a unit test, removed with what is in it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace lmig::test {

class TempDir {
public:
  explicit TempDir(const char *prefix = "lmig-unit") {
    std::string t = std::string("/tmp/") + prefix + "-XXXXXX";
    if (!::mkdtemp(t.data()))
      std::abort();
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string file(const char *name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace lmig::test
