// The restorer blob built from restorer/ and embedded in liblmig.
#pragma once

#include <cstddef>
#include <cstdint>

#include "restorer/restorer_args.h"

extern "C" {
extern const unsigned char lmig_restorer_blob[];
extern const size_t lmig_restorer_blob_size;
}

namespace lmig {

inline const lmig_restorer_header &restorer_header() {
  return *reinterpret_cast<const lmig_restorer_header *>(lmig_restorer_blob);
}

} // namespace lmig
