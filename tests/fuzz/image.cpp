// decode_image on hostile bytes: an image error, never a crash; and what it
// accepts is an image that survives its own encoding unchanged (the decoder
// keeps nothing the encoder cannot say again).
#include "engine/image/image_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace lmig;
  auto im = decode_image({data, size});
  if (!im.ok()) {
    fuzz::check(im.error().code == LMIG_ERR_IMAGE, "decode_image failed with another code");
    return 0;
  }
  auto again = decode_image(encode_image(*im));
  fuzz::check(again.ok(), "a decoded image does not decode once encoded again");
  fuzz::check(*again == *im, "a decoded image changes when encoded and decoded again");
  return 0;
}
