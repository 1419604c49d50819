#!/usr/bin/env python3
"""Turns the linked restorer ELF into a C array for liblmig.

Refuses a blob that would need run-time relocation (a GOT, dynamic
relocations): the restorer runs at whatever address lmigd picks.
"""
import struct
import subprocess
import sys

elf_path, objcopy, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(elf_path, 'rb').read()
if data[:4] != b'\x7fELF' or data[4] != 2:
    sys.exit('restorer: not an ELF64 file')
shoff, = struct.unpack_from('<Q', data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
sections = []
for i in range(shnum):
    name, typ, flags, addr, off, size = struct.unpack_from('<IIQQQQ', data, shoff + i * shentsize)
    sections.append((name, typ, addr, size))
stroff = sections[shstrndx]
_, _, _, _ = stroff
str_off = struct.unpack_from('<Q', data, shoff + shstrndx * shentsize + 0x18)[0]
def sname(n):
    end = data.index(b'\0', str_off + n)
    return data[str_off + n:end].decode()
for name, typ, addr, size in sections:
    n = sname(name)
    if size and (n.startswith('.got') or n.startswith('.rela') or n.startswith('.rel.') or n in ('.dynamic', '.plt', '.interp')):
        sys.exit(f'restorer: section {n} ({size} bytes) would need relocation; keep the restorer position-independent')
    if n == '.lmig_header' and addr != 0:
        sys.exit('restorer: header is not at offset 0')

bin_path = out_path + '.bin'
subprocess.run([objcopy, '-O', 'binary', elf_path, bin_path], check=True)
blob = open(bin_path, 'rb').read()
magic, = struct.unpack_from('<Q', blob, 0)
if magic != 0x4e4c42524f545352:
    sys.exit('restorer: bad header magic in blob')
with open(out_path, 'w') as f:
    f.write('/* Generated from the restorer ELF by embed_blob.py. */\n')
    f.write('#include <stddef.h>\n')
    f.write('__attribute__((aligned(64))) const unsigned char lmig_restorer_blob[] = {\n')
    for i in range(0, len(blob), 16):
        f.write('  ' + ', '.join('0x%02x' % b for b in blob[i:i + 16]) + ',\n')
    f.write('};\n')
    f.write('const size_t lmig_restorer_blob_size = %d;\n' % len(blob))
