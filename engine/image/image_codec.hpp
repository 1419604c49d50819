// Encodes a ProcessImage into a versioned, self-describing byte stream (tagged
// sections, each with its length, unknown ones skipped) and decodes it back,
// validating every bound: hostile bytes yield an error, never a crash.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

std::vector<uint8_t> encode_image(const ProcessImage &image);
Result<ProcessImage> decode_image(std::span<const uint8_t> bytes);
// The open files the processes of a tree share, made by its root: an image
// with only fd state, whose fd numbers are the shared slots.
Result<ProcessImage> decode_tree_files(std::span<const uint8_t> bytes);
// Semantic checks beyond the encoding: sorted, aligned, non-overlapping VMAs,
// fds that name existing files, page runs inside VMAs.
Status validate_image(const ProcessImage &image);

} // namespace lmig
