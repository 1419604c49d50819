// decode_tree on hostile bytes: an image error, never a crash; what it
// accepts is a tree fork can rebuild, and its encoding is canonical (every
// byte read, booleans strict), so it encodes back to the very same bytes.
#include <algorithm>

#include "engine/image/process_tree.hpp"
#include "tests/fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace lmig;
  auto tree = decode_tree({data, size});
  if (!tree.ok()) {
    fuzz::check(tree.error().code == LMIG_ERR_IMAGE, "decode_tree failed with another code");
    return 0;
  }
  fuzz::check(validate_tree(*tree).ok(), "decode_tree accepted a tree validate_tree refuses");
  auto bytes = encode_tree(*tree);
  fuzz::check(std::equal(bytes.begin(), bytes.end(), data, data + size),
              "a decoded tree encodes to other bytes");
  return 0;
}
