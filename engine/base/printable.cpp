#include "engine/base/printable.hpp"

namespace lmig {

std::string printable(std::string_view text, size_t max) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() < max ? text.size() : max);
  size_t i = 0;
  for (; i < text.size(); i++) {
    const auto c = static_cast<unsigned char>(text[i]);
    char esc[4];
    size_t n = 0;
    if (c >= 0x20 && c < 0x7f) {
      esc[n++] = static_cast<char>(c);
    } else if (c == '\n' || c == '\r' || c == '\t') {
      esc[n++] = '\\';
      esc[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
    } else {
      esc[n++] = '\\';
      esc[n++] = 'x';
      esc[n++] = hex[c >> 4];
      esc[n++] = hex[c & 15];
    }
    if (out.size() + n > max) // never half an escape
      break;
    out.append(esc, n);
  }
  if (i < text.size())
    out += "...[+" + std::to_string(text.size() - i) + " bytes]";
  return out;
}

} // namespace lmig
