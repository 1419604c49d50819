#include "engine/restore/admission.hpp"

#include <fstream>
#include <sstream>

namespace lmig {
namespace {

bool read_u64(const std::string &path, uint64_t &out) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v) || v == "max")
    return false;
  try {
    out = std::stoull(v);
  } catch (...) {
    return false;
  }
  return true;
}

void tighten(MemoryRoom &room, uint64_t limit, uint64_t used, const std::string &who) {
  const uint64_t left = used >= limit ? 0 : limit - used;
  if (left < room.bytes) {
    room.bytes = left;
    room.limited_by = who;
  }
}

// Our memory cgroup's path, in the v2 or the v1 hierarchy.
struct OwnCgroup {
  std::string v2, v1;
};

OwnCgroup own_cgroup() {
  OwnCgroup c;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty())
      c.v2 = path;
    std::stringstream list(controllers);
    for (std::string ctl; std::getline(list, ctl, ',');)
      if (ctl == "memory")
        c.v1 = path;
  }
  return c;
}

// Every ancestor's limit counts: walk from the cgroup up to the root.
void walk(const std::string &mount, std::string path, const char *limit_file,
          const char *usage_file, MemoryRoom &room) {
  for (;;) {
    const std::string dir = mount + (path == "/" ? "" : path);
    uint64_t limit = 0, used = 0;
    if (read_u64(dir + "/" + limit_file, limit) && read_u64(dir + "/" + usage_file, used))
      tighten(room, limit, used, "memory cgroup " + dir);
    if (path.empty() || path == "/")
      return;
    const size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

} // namespace

MemoryRoom memory_room() {
  MemoryRoom room;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    uint64_t kb = 0;
    meminfo >> kb;
    if (key == "MemAvailable:") {
      room.bytes = kb * 1024;
      room.limited_by = "MemAvailable";
      break;
    }
    meminfo.ignore(64, '\n');
  }
  const OwnCgroup c = own_cgroup();
  std::ifstream probe("/sys/fs/cgroup/cgroup.controllers");
  if (probe && !c.v2.empty())
    walk("/sys/fs/cgroup", c.v2, "memory.max", "memory.current", room);
  else if (!c.v1.empty())
    walk("/sys/fs/cgroup/memory", c.v1, "memory.limit_in_bytes", "memory.usage_in_bytes", room);
  return room;
}

Status admit_memory(uint64_t bytes) {
  const MemoryRoom room = memory_room();
  if (bytes <= room.bytes)
    return {};
  auto mib = [](uint64_t b) { return std::to_string((b + (1 << 20) - 1) >> 20) + " MiB"; };
  return make_error(LMIG_ERR_TARGET_FAILED,
                    "not enough memory here: the process needs " + mib(bytes) +
                        " resident, and only " + mib(room.bytes) + " may be allocated (" +
                        room.limited_by + ")");
}

} // namespace lmig
