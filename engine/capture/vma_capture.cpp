#include "engine/capture/vma_capture.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "engine/base/unique_fd.hpp"

namespace lmig {
namespace {

std::string range_of(const MapsEntry &m) {
  char b[64];
  snprintf(b, sizeof b, "%llx-%llx", static_cast<unsigned long long>(m.start),
           static_cast<unsigned long long>(m.end));
  return b;
}

Error unsupported(const MapsEntry &m, const std::string &what) {
  return make_error(LMIG_ERR_UNSUPPORTED,
                    "mapping " + range_of(m) + (m.path.empty() ? "" : " (" + m.path + ")") + ": " +
                        what + " is not supported yet");
}

} // namespace

Result<std::vector<VmaImage>> capture_vmas(const std::vector<MapsEntry> &maps) {
  std::vector<VmaImage> out;
  for (const auto &m : maps) {
    if (m.path == "[vsyscall]")
      continue;
    VmaImage v;
    v.start = m.start;
    v.end = m.end;
    v.prot = m.prot();
    v.pgoff = m.pgoff;
    if (m.has_flag("gd"))
      v.vm_flags |= kVmaGrowsDown;
    if (m.has_flag("mw"))
      v.vm_flags |= kVmaMayWrite;
    if (m.has_flag("nr"))
      v.vm_flags |= kVmaNoReserve;
    if (m.has_flag("lo"))
      v.vm_flags |= kVmaLocked;
    // madvise state the process set and relies on (fork behaviour, core
    // dumps, huge pages, read-ahead), remade on the target.
    static constexpr std::pair<const char *, uint32_t> kAdvice[] = {
        {"hg", kVmaHugePage},  {"nh", kVmaNoHugePage}, {"dc", kVmaDontFork},
        {"wf", kVmaWipeOnFork}, {"dd", kVmaDontDump},  {"lf", kVmaLockOnFault},
        {"sr", kVmaSeqRead},    {"rr", kVmaRandRead},  {"gu", kVmaMaybeGuards}};
    for (const auto &[flag, bit] : kAdvice)
      if (m.has_flag(flag))
        v.vm_flags |= bit;
    const bool special = m.path == "[vdso]" || m.path == "[vvar]" || m.path == "[vvar_vclock]";
    if (m.has_flag("ht"))
      return unsupported(m, "hugetlbfs memory");
    if (!special && (m.has_flag("io") || m.has_flag("pf")))
      return unsupported(m, "device (I/O) memory");

    if (m.path == "[vdso]") {
      v.kind = VmaKind::vdso;
    } else if (m.path == "[vvar]") {
      v.kind = VmaKind::vvar;
    } else if (m.path == "[vvar_vclock]") {
      v.kind = VmaKind::vvar_vclock;
    } else if (m.path.empty() || m.path == "[heap]" || m.path == "[stack]" ||
               m.path.starts_with("[anon:")) {
      if (m.inode != 0)
        return unsupported(m, "anonymous mapping with an inode");
      if (m.shared)
        return unsupported(m, "shared anonymous memory");
      v.kind = VmaKind::anon;
      v.pgoff = 0;
    } else if (m.path[0] == '[') {
      return unsupported(m, "special mapping " + m.path);
    } else if (m.path.starts_with("/SYSV") && m.inode != 0) {
      return unsupported(m, "System V shared memory");
    } else if (m.path[0] == '/') {
      if (m.deleted) {
        // Shared anonymous memory (and MAP_SHARED of /dev/zero) and memfds
        // are shmem inodes: their contents travel (see shmem_capture).
        if (m.shmem()) {
          v.kind = VmaKind::shmem;
          v.path = m.path;
          out.push_back(std::move(v));
          continue;
        }
        if (m.path.starts_with("/memfd:"))
          return unsupported(m, "a private mapping of a memfd");
        if (m.path == "/dev/zero")
          return unsupported(m, "a private mapping of shared anonymous memory");
        return unsupported(m, "a mapping of a deleted file");
      }
      struct stat st {};
      if (::stat(m.path.c_str(), &st) < 0)
        return sys_error("stat mapped file " + m.path);
      if (!S_ISREG(st.st_mode))
        return unsupported(m, "a mapping of a non-regular file");
      if (st.st_ino != m.inode)
        return unsupported(m, "a mapping whose file was replaced since");
      v.kind = m.shared ? VmaKind::file_shared : VmaKind::file_private;
      v.file_size = static_cast<uint64_t>(st.st_size);
    } else {
      return unsupported(m, "mapping " + m.path);
    }
    v.path = m.path;
    out.push_back(std::move(v));
  }
  return out;
}

Result<uint64_t> locked_kib(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(std::string status,
                        read_proc_file("/proc/" + std::to_string(pid) + "/status"));
  auto at = status.find("\nVmLck:");
  if (at == std::string::npos)
    return make_error(LMIG_ERR_SYSTEM, "/proc/" + std::to_string(pid) + "/status has no VmLck");
  return std::strtoull(status.c_str() + at + 7, nullptr, 10);
}

// Cheap on purpose (this runs while the process is frozen): the counters
// and one pagemap entry, not smaps, whose cost grows with resident memory.
Result<uint32_t> future_lock_flags(pid_t pid, uint64_t fresh_mapping, uint64_t locked_before_kib) {
  LMIG_ASSIGN_OR_RETURN(uint64_t locked_after, locked_kib(pid));
  if (locked_after <= locked_before_kib)
    return 0u; // the new mapping was not locked: no MCL_FUTURE
  // MCL_FUTURE alone populates what it locks at once; with MCL_ONFAULT
  // the untouched page is not there yet.
  UniqueFd pm(::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
  if (!pm)
    return sys_error("open /proc/" + std::to_string(pid) + "/pagemap");
  uint64_t entry = 0;
  if (::pread(pm.get(), &entry, sizeof entry, static_cast<off_t>(fresh_mapping / 4096 * 8)) !=
      sizeof entry)
    return sys_error("read the pagemap entry of the capture's scratch page");
  const bool present = entry >> 63;
  return static_cast<uint32_t>(MCL_FUTURE | (present ? 0 : MCL_ONFAULT));
}

} // namespace lmig
