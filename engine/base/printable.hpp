// Text that came from a peer (or a migrated process) made safe to show in a
// log line or an error message: it can neither forge a line nor drive a
// terminal, and it cannot fill the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lmig {

// Room for a host name, a kernel release or a path; longer text is cut.
inline constexpr size_t kPrintableMax = 256;

// Printable ASCII stays as it is; \n, \r and \t become those two-character
// escapes and every other byte (controls, DEL, anything >= 0x80) \xNN. At
// most `max` characters are kept, then "...[+N bytes]" says how much was
// cut. A backslash is left alone, so escaped text that fits passes a second
// escaping unchanged: what was escaped where it entered an error is not
// mangled by the log's own escaping of every line.
std::string printable(std::string_view text, size_t max = kPrintableMax);

} // namespace lmig
