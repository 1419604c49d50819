// What lmigd serves at once. A connection is "greeted" from its accept until
// its hello is accepted (version, token, session); only then may it become
// a migration or join one. Connections over a cap are closed at once.
#pragma once

#include <cstddef>

namespace lmig {

// Connections whose hello has not been accepted yet, each on a thread of
// its own: what unauthenticated peers can hold at once.
inline constexpr size_t kMaxGreetings = 64;
// Migrations in progress (their control connections); their other
// channels join them after a greeting of their own.
inline constexpr size_t kMaxMigrations = 16;
// The whole hello must arrive within this: a silent or trickling peer
// gives its place back soon.
inline constexpr int kHelloTimeoutMs = 5000;
// At most one warning this often about connections closed over a cap.
inline constexpr unsigned kRefusalWarningIntervalMs = 1000;

} // namespace lmig
