#include "engine/base/process_memory.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>

namespace lmig {
namespace {

Status open_mem(pid_t pid, UniqueFd &mem, int mode) {
  if (mem)
    return {};
  std::string path = "/proc/" + std::to_string(pid) + "/mem";
  mem.reset(::open(path.c_str(), mode | O_CLOEXEC));
  if (!mem)
    return sys_error("open " + path);
  return {};
}

std::string where(uint64_t addr, size_t len) {
  char b[64];
  snprintf(b, sizeof b, "%zu bytes at 0x%llx", len, static_cast<unsigned long long>(addr));
  return b;
}

} // namespace

Status PageWriter::write(uint64_t addr, const void *data, size_t len) {
  iovec local{const_cast<void *>(data), len};
  iovec remote{reinterpret_cast<void *>(addr), len};
  ssize_t n = ::process_vm_writev(pid_, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len))
    return {};
  // Partly done or refused (a protection): finish through /proc/PID/mem.
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  LMIG_TRY(open_mem(pid_, mem_, O_RDWR));
  while (done < len) {
    ssize_t w = ::pwrite(mem_.get(), static_cast<const char *>(data) + done, len - done,
                         static_cast<off_t>(addr + done));
    if (w <= 0)
      return sys_error("write " + where(addr + done, len - done) + " into process " +
                       std::to_string(pid_));
    done += static_cast<size_t>(w);
  }
  return {};
}

Status PageReader::read(uint64_t addr, void *data, size_t len) {
  iovec local{data, len};
  iovec remote{reinterpret_cast<void *>(addr), len};
  ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len))
    return {};
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  LMIG_TRY(open_mem(pid_, mem_, O_RDONLY));
  while (done < len) {
    ssize_t r = ::pread(mem_.get(), static_cast<char *>(data) + done, len - done,
                        static_cast<off_t>(addr + done));
    if (r <= 0)
      return sys_error("read " + where(addr + done, len - done) + " of process " +
                       std::to_string(pid_));
    done += static_cast<size_t>(r);
  }
  return {};
}

} // namespace lmig
