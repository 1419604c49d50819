// decode_tree_files (the open files a process tree shares, sent by its
// root) on hostile bytes: the same promises as decode_image.
#include "engine/image/image_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace lmig;
  auto files = decode_tree_files({data, size});
  if (!files.ok()) {
    fuzz::check(files.error().code == LMIG_ERR_IMAGE, "decode_tree_files failed with another code");
    return 0;
  }
  auto again = decode_tree_files(encode_image(*files));
  fuzz::check(again.ok(), "decoded tree files do not decode once encoded again");
  fuzz::check(*again == *files, "decoded tree files change when encoded and decoded again");
  return 0;
}
