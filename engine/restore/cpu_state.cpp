#include "engine/restore/cpu_state.hpp"

#include <cpuid.h>
#include <sys/utsname.h>

namespace lmig {

CpuState local_cpu_state() {
  CpuState s;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
    return s;
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  s.xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
  __cpuid_count(0xd, 0, a, b, c, d);
  s.xsave_size = b;
  return s;
}

} // namespace lmig

namespace lmig {

wire::Hello host_hello() {
  wire::Hello h;
  h.features = wire::kFeatureStopCopy | wire::kFeaturePostcopy;
  CpuState cpu = local_cpu_state();
  h.xfeatures = cpu.xcr0;
  h.xstate_size = cpu.xsave_size;
  utsname u{};
  ::uname(&u);
  h.kernel = u.release;
  h.host = u.nodename;
  return h;
}

} // namespace lmig
