// parse_maps on crafted /proc/PID/maps and smaps text, and read_smaps on the
// live test process.
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/vma_capture.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace lmig {
namespace {

// Real maps lines, with the kernel's padding (and trailing space on anonymous
// lines: "... 00:00 0 ").
constexpr const char *kMaps =
    "55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 1315890                    /usr/bin/cat\n"
    "55d0c0a02000-55d0c0a07000 r-xp 00002000 fe:00 1315890                    /usr/bin/cat\n"
    "55d0c0a0b000-55d0c0a0c000 rw-p 0000a000 fe:00 1315890                    /usr/bin/cat\n"
    "55d0c1a6e000-55d0c1a8f000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f32fe7d0000-7f32fe7f2000 rw-p 00000000 00:00 0 \n"
    "7f32fe800000-7f32fe801000 rw-s 00000000 00:05 2048                       /dev/zero (deleted)\n"
    "7f32fe810000-7f32fe812000 rw-s 00001000 00:1a 77                         /dev/shm/my segment\n"
    "7f32fe820000-7f32fe821000 r--p 00000000 fe:00 1234                       /tmp/odd name (deleted)\n"
    "7f32fe830000-7f32fe831000 ---p 00000000 00:00 0\n"
    "7ffd1ef42000-7ffd1ef63000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd1ef9c000-7ffd1efa0000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd1efa0000-7ffd1efa2000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

TEST(ParseMaps, CraftedMaps) {
  auto r = parse_maps(kMaps);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &m = *r;
  ASSERT_EQ(m.size(), 13u);

  EXPECT_EQ(m[0].start, 0x55d0c0a00000u);
  EXPECT_EQ(m[0].end, 0x55d0c0a02000u);
  EXPECT_TRUE(m[0].read);
  EXPECT_FALSE(m[0].write);
  EXPECT_FALSE(m[0].exec);
  EXPECT_FALSE(m[0].shared);
  EXPECT_EQ(m[0].pgoff, 0u);
  EXPECT_EQ(m[0].dev_major, 0xfeu);
  EXPECT_EQ(m[0].dev_minor, 0u);
  EXPECT_EQ(m[0].inode, 1315890u);
  EXPECT_EQ(m[0].path, "/usr/bin/cat");
  EXPECT_FALSE(m[0].deleted);
  EXPECT_TRUE(m[0].vm_flags.empty());
  EXPECT_EQ(m[0].prot(), static_cast<uint32_t>(PROT_READ));

  EXPECT_TRUE(m[1].exec);
  EXPECT_EQ(m[1].pgoff, 0x2000u);
  EXPECT_EQ(m[1].prot(), static_cast<uint32_t>(PROT_READ | PROT_EXEC));
  EXPECT_EQ(m[2].pgoff, 0xa000u);
  EXPECT_EQ(m[2].prot(), static_cast<uint32_t>(PROT_READ | PROT_WRITE));

  EXPECT_EQ(m[3].path, "[heap]");
  EXPECT_EQ(m[3].inode, 0u);

  // anonymous, with and without the trailing space
  EXPECT_EQ(m[4].path, "");
  EXPECT_FALSE(m[4].deleted);
  EXPECT_EQ(m[8].path, "");
  EXPECT_EQ(m[8].prot(), static_cast<uint32_t>(PROT_NONE));

  EXPECT_TRUE(m[5].shared);
  EXPECT_TRUE(m[5].deleted);
  EXPECT_EQ(m[5].path, "/dev/zero");
  EXPECT_EQ(m[5].dev_minor, 5u);

  EXPECT_TRUE(m[6].shared);
  EXPECT_FALSE(m[6].deleted);
  EXPECT_EQ(m[6].path, "/dev/shm/my segment");
  EXPECT_EQ(m[6].dev_minor, 0x1au);
  EXPECT_EQ(m[6].pgoff, 0x1000u);

  EXPECT_TRUE(m[7].deleted);
  EXPECT_EQ(m[7].path, "/tmp/odd name");

  EXPECT_EQ(m[9].path, "[stack]");
  EXPECT_EQ(m[10].path, "[vvar]");
  EXPECT_EQ(m[11].path, "[vdso]");
  EXPECT_TRUE(m[11].exec);
  EXPECT_EQ(m[12].path, "[vsyscall]");
  EXPECT_EQ(m[12].start, 0xffffffffff600000u);
  EXPECT_EQ(m[12].prot(), static_cast<uint32_t>(PROT_EXEC));
}

constexpr const char *kSmaps =
    "55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 1315890                    /usr/bin/cat\n"
    "Size:                  8 kB\n"
    "KernelPageSize:        4 kB\n"
    "MMUPageSize:           4 kB\n"
    "Rss:                   8 kB\n"
    "Pss:                   8 kB\n"
    "Shared_Clean:          0 kB\n"
    "Private_Dirty:         0 kB\n"
    "Anonymous:             0 kB\n"
    "THPeligible:    0\n"
    "ProtectionKey:         0\n"
    "VmFlags: rd mr mw me \n"
    "55d0c1a6e000-55d0c1a8f000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "Rss:                   4 kB\n"
    "VmFlags: rd wr mr mw me ac \n"
    "7f32fe7d0000-7f32fe7f2000 rw-p 00000000 00:00 0 \n"
    "Size:                136 kB\n"
    "VmFlags: rd wr mr mw me nr \n"
    "7f32fe800000-7f32fe801000 rw-s 00000000 00:05 2048                       /dev/zero (deleted)\n"
    "Size:                  4 kB\n"
    "VmFlags: rd wr sh mr mw me ms sd\n"
    "7f32fe900000-7f32fe901000 rw-p 00000000 00:00 0 \n"
    "Size:                  4 kB\n"
    "7ffd1ef42000-7ffd1ef63000 rw-p 00000000 00:00 0                          [stack]\n"
    "Size:                132 kB\n"
    "VmFlags: rd wr mr mw me gd ac \n"
    "7ffd1efa0000-7ffd1efa2000 r-xp 00000000 00:00 0                          [vdso]\n"
    "Size:                  8 kB\n"
    "VmFlags: rd ex mr mw me de sd \n";

TEST(ParseMaps, SmapsFlagsGoToTheRightVma) {
  auto r = parse_maps(kSmaps);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &m = *r;
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[0].vm_flags, (std::vector<std::string>{"rd", "mr", "mw", "me"}));
  EXPECT_EQ(m[1].path, "[heap]");
  EXPECT_EQ(m[1].vm_flags, (std::vector<std::string>{"rd", "wr", "mr", "mw", "me", "ac"}));
  EXPECT_TRUE(m[2].has_flag("nr"));
  EXPECT_FALSE(m[2].has_flag("gd"));
  EXPECT_TRUE(m[3].deleted);
  EXPECT_EQ(m[3].path, "/dev/zero");
  EXPECT_TRUE(m[3].has_flag("sh"));
  EXPECT_TRUE(m[3].has_flag("sd")); // last flag without a trailing space
  EXPECT_TRUE(m[4].vm_flags.empty()); // no VmFlags line for this one
  EXPECT_EQ(m[5].path, "[stack]");
  EXPECT_TRUE(m[5].has_flag("gd"));
  EXPECT_TRUE(m[5].has_flag("ac"));
  EXPECT_FALSE(m[5].has_flag("g"));
  EXPECT_FALSE(m[5].has_flag(""));
  EXPECT_EQ(m[6].path, "[vdso]");
  EXPECT_TRUE(m[6].has_flag("de"));
  EXPECT_EQ(m[6].vm_flags.size(), 7u);
  for (size_t i = 0; i < m.size(); i++) {
    if (i != 5) {
      EXPECT_FALSE(m[i].has_flag("gd")) << i;
    }
  }
}

TEST(ParseMaps, VmFlagsBeforeAnyVmaIsIgnored) {
  auto r = parse_maps("VmFlags: rd wr\n"
                      "7f32fe7d0000-7f32fe7f2000 rw-p 00000000 00:00 0 \n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0].vm_flags.empty());
}

TEST(ParseMaps, EmptyTextAndBlankLines) {
  auto r = parse_maps("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  r = parse_maps("\n\n00400000-00401000 r-xp 00000000 08:01 12 /bin/x\n\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].path, "/bin/x");
}

TEST(ParseMaps, LastLineWithoutNewline) {
  auto r = parse_maps("00400000-00401000 r-xp 00000000 08:01 12 /bin/x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].path, "/bin/x");
}

TEST(ParseMaps, DeletedSuffixAloneIsAPath) {
  // A file literally named "(deleted)" in the cwd is not marked deleted.
  auto r = parse_maps("00400000-00401000 r--p 00000000 08:01 12 (deleted)\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].path, "(deleted)");
  EXPECT_FALSE((*r)[0].deleted);
}

TEST(ParseMaps, MalformedLinesAreRejected) {
  const char *bad[] = {
      "garbage\n",
      "00400000 r-xp 00000000 08:01 12 /bin/x\n",           // no dash in the range
      "0040000g-00401000 r-xp 00000000 08:01 12 /bin/x\n",  // not hex
      "00400000-00401000 r-x 00000000 08:01 12 /bin/x\n",   // perms not 4 chars
      "00400000-00401000 r-xpp 00000000 08:01 12 /bin/x\n", // perms too long
      "00400000-00401000 r-xp 0000z000 08:01 12 /bin/x\n",  // bad offset
      "00400000-00401000 r-xp 00000000 0801 12 /bin/x\n",   // dev without colon
      "00400000-00401000 r-xp 00000000 08:0x 12 /bin/x\n",  // bad minor
      "00400000-00401000 r-xp 00000000 08:01 1a /bin/x\n",  // inode is decimal
      "00400000-00401000 r-xp 00000000 08:01\n",            // no inode
      "00400000-00401000 r-xp\n",                           // truncated
      "-00401000 r-xp 00000000 08:01 12 /bin/x\n",          // empty start
      "00400000- r-xp 00000000 08:01 12 /bin/x\n",          // empty end
      "00400000-00401000 r-xp -0000001 08:01 12 /bin/x\n",  // negative offset
      "1000000000000000000-00401000 r-xp 00000000 08:01 12 /bin/x\n", // overflow
      "a-b:c r-xp 00000000 08:01 12 /bin/x\n", // a colon before the first space, not a key
  };
  for (const char *line : bad) {
    std::string text = std::string("00001000-00002000 r--p 00000000 00:00 0 \n") + line;
    auto r = parse_maps(text);
    ASSERT_FALSE(r.ok()) << "accepted: " << line;
    EXPECT_NE(r.error().message.find("maps line 2 is malformed"), std::string::npos)
        << r.error().message;
  }
}

TEST(ParseMaps, OutOfOrderLinesAreRejected) {
  auto r = parse_maps("7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
                      "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("maps line 2 is out of order"), std::string::npos)
      << r.error().message;
}

TEST(ParseMaps, OverlappingLinesAreRejected) {
  auto r = parse_maps("7f0000000000-7f0000002000 rw-p 00000000 00:00 0 \n"
                      "Size:  8 kB\n"
                      "7f0000001000-7f0000003000 rw-p 00000000 00:00 0 \n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("maps line 3 is out of order"), std::string::npos)
      << r.error().message;
}

TEST(ParseMaps, EmptyOrInvertedRangeIsRejected) {
  for (const char *line : {"7f0000001000-7f0000001000 rw-p 00000000 00:00 0 \n",
                           "7f0000002000-7f0000001000 rw-p 00000000 00:00 0 \n"}) {
    auto r = parse_maps(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.error().message.find("out of order or empty"), std::string::npos)
        << r.error().message;
  }
}

TEST(ParseMaps, AdjacentLinesAreFine) {
  auto r = parse_maps("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
                      "7f0000001000-7f0000002000 r--p 00000000 00:00 0 \n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 2u);
}

// --- the live process ---------------------------------------------------------

TEST(ReadSmaps, LiveProcess) {
  auto r = read_smaps(getpid());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &m = *r;
  ASSERT_FALSE(m.empty());

  int stacks = 0, exec = 0;
  bool code_found = false, vdso_found = false;
  const auto here = reinterpret_cast<uint64_t>(&parse_maps);
  // the frame address, not a local's address: ASan may move locals to a fake stack
  const auto sp = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  for (size_t i = 0; i < m.size(); i++) {
    const auto &e = m[i];
    EXPECT_LT(e.start, e.end);
    if (i) {
      EXPECT_LE(m[i - 1].end, e.start);
    }
    EXPECT_FALSE(e.vm_flags.empty()) << "no VmFlags for " << std::hex << e.start;
    EXPECT_EQ(e.read, e.has_flag("rd")) << std::hex << e.start;
    EXPECT_EQ(e.write, e.has_flag("wr")) << std::hex << e.start;
    EXPECT_EQ(e.exec, e.has_flag("ex")) << std::hex << e.start;
    if (e.path == "[stack]") {
      stacks++;
      EXPECT_TRUE(e.has_flag("gd"));
      EXPECT_TRUE(e.read && e.write);
      EXPECT_TRUE(sp >= e.start && sp < e.end) << "the main thread's stack";
    }
    if (e.path == "[vdso]") {
      vdso_found = true;
      EXPECT_TRUE(e.exec);
    }
    if (e.exec) {
      exec++;
      if (here >= e.start && here < e.end)
        code_found = true;
    }
  }
  EXPECT_EQ(stacks, 1);
  EXPECT_GE(exec, 1);
  EXPECT_TRUE(code_found) << "parse_maps itself must be in an executable mapping";
  EXPECT_TRUE(vdso_found);
}

TEST(ReadSmaps, SeesANewMappingWithItsFlags) {
  const size_t len = 3 * 4096;
  void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<char *>(p) + 4096, 4096, PROT_NONE), 0);
  auto r = read_smaps(getpid());
  const auto a = reinterpret_cast<uint64_t>(p);
  munmap(p, len);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const MapsEntry *mid = nullptr;
  for (const auto &e : *r)
    if (e.start == a + 4096)
      mid = &e;
  ASSERT_NE(mid, nullptr);
  EXPECT_EQ(mid->end, a + 8192);
  EXPECT_EQ(mid->prot(), static_cast<uint32_t>(PROT_NONE));
  EXPECT_FALSE(mid->has_flag("wr"));
  EXPECT_TRUE(mid->has_flag("mw")); // private: may be made writable again
  auto overcommit = read_proc_file("/proc/sys/vm/overcommit_memory");
  if (overcommit.ok() && !overcommit->starts_with("2")) {
    EXPECT_TRUE(mid->has_flag("nr")); // MAP_NORESERVE is ignored in strict overcommit mode
  }
}

TEST(ReadSmaps, SeesADeletedFile) {
  char path[] = "/tmp/lmig-maps-test XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  void *p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  close(fd);
  unlink(path);
  auto r = read_maps(getpid());
  munmap(p, 4096);
  ASSERT_TRUE(r.ok()) << r.error().message;
  bool found = false;
  for (const auto &e : *r) {
    if (e.start == reinterpret_cast<uint64_t>(p)) {
      found = true;
      EXPECT_TRUE(e.deleted);
      EXPECT_TRUE(e.shared);
      EXPECT_EQ(e.path, path);
    }
  }
  EXPECT_TRUE(found);
}

TEST(ReadSmaps, NoSuchProcess) {
  auto r = read_smaps(0x3fffffff);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_SYSTEM);
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

TEST(ReadProcFile, ReadsPastTheReportedSize) {
  auto r = read_proc_file("/proc/self/smaps");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(r->size(), 4096u); // larger than one page, though stat says 0 bytes
}

} // namespace

// --- capture_vmas: what each kind of mapping becomes ------------------------

namespace {
Result<std::vector<VmaImage>> vmas_of(const char *smaps) {
  auto m = parse_maps(smaps);
  EXPECT_TRUE(m.ok());
  return capture_vmas(*m);
}
} // namespace

TEST(CaptureVmas, SharedMemoryAndMadviseState) {
  auto r = vmas_of("7f0000000000-7f0000004000 rw-s 00000000 00:01 1234 /dev/zero (deleted)\n"
                   "VmFlags: rd wr sh mr mw me ms dc \n"
                   "7f0000004000-7f0000006000 r--s 00002000 00:01 1235 /memfd:state (deleted)\n"
                   "VmFlags: rd sh mr me ms dd \n"
                   "7f0000200000-7f0000600000 rw-p 00000000 00:00 0 \n"
                   "VmFlags: rd wr mr mw me ac hg wf lo lf \n"
                   "7f0000600000-7f0000601000 rw-p 00000000 00:00 0 \n"
                   "VmFlags: rd wr mr mw me ac nh \n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &v = *r;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].kind, VmaKind::shmem);
  EXPECT_EQ(v[0].path, "/dev/zero");
  EXPECT_EQ(v[0].vm_flags, kVmaMayWrite | kVmaDontFork);
  EXPECT_EQ(v[1].kind, VmaKind::shmem);
  EXPECT_EQ(v[1].path, "/memfd:state");
  EXPECT_EQ(v[1].pgoff, 0x2000u);
  EXPECT_EQ(v[1].vm_flags, kVmaDontDump);
  EXPECT_EQ(v[2].kind, VmaKind::anon);
  EXPECT_EQ(v[2].vm_flags,
            kVmaMayWrite | kVmaHugePage | kVmaWipeOnFork | kVmaLocked | kVmaLockOnFault);
  EXPECT_EQ(v[3].vm_flags, kVmaMayWrite | kVmaNoHugePage);
}

TEST(CaptureVmas, RefusedByName) {
  struct Case {
    const char *smaps;
    const char *why;
  } cases[] = {
      {"7f0000000000-7f0000004000 rw-p 00000000 00:01 1235 /memfd:x (deleted)\n",
       "a private mapping of a memfd is not supported yet"},
      {"7f0000000000-7f0000004000 rw-s 00000000 00:01 32768 /SYSV00000000 (deleted)\n",
       "System V shared memory is not supported yet"},
      {"7f0000000000-7f0000004000 rw-s 00000000 00:01 32768 /SYSV00000000\n",
       "System V shared memory is not supported yet"},
      {"7f0000000000-7f0000004000 rw-s 00000000 00:01 99 /var/tmp/gone (deleted)\n",
       "a mapping of a deleted file is not supported yet"},
  };
  for (const auto &c : cases) {
    auto r = vmas_of(c.smaps);
    ASSERT_FALSE(r.ok()) << c.smaps;
    EXPECT_EQ(r.error().code, LMIG_ERR_UNSUPPORTED);
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
  }
}
} // namespace lmig
