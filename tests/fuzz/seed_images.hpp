// Representative images and trees for the seed corpus: what capture makes
// of real processes, each seed stressing one part of the format so the
// fuzzer starts deep inside every section rather than at its magic.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/image/image.hpp"
#include "engine/image/process_tree.hpp"

namespace lmig::fuzz {

// name -> image; every one valid (decode_image accepts its encoding).
std::vector<std::pair<std::string, ProcessImage>> seed_images();
// name -> the files a tree shares (decode_tree_files accepts them).
std::vector<std::pair<std::string, ProcessImage>> seed_tree_files();
// name -> tree (validate_tree accepts it).
std::vector<std::pair<std::string, ProcessTree>> seed_trees();

} // namespace lmig::fuzz
