/*
 * Who the restored process is: credentials, capabilities, the prctl state
 * tied to them, and seccomp. Freestanding like the rest of the restorer.
 * Each function returns 0, or a negative errno with *step and *arg saying
 * which call failed (for the error lmigd reports).
 */
#ifndef LMIG_RESTORER_IDENTITY_H
#define LMIG_RESTORER_IDENTITY_H

#include "restorer/restorer_args.h"

/* uids, gids, groups, capability sets, bounding set, ambient set, securebits.
 * Runs as root; ends with exactly the saved sets. */
long lmig_restore_creds(const struct lmig_rst_args *a, uint32_t *step, uint64_t *arg);

/* The parent-death signal and dumpable flag: after the credentials, whose
 * change resets both. */
long lmig_restore_cred_dependent(const struct lmig_rst_args *a, const struct lmig_rst_thread *t,
                                 uint32_t *step, uint64_t *arg);

/* Strict mode or the saved filters, oldest first. Last before rt_sigreturn:
 * lmigd traces the thread with PTRACE_O_SUSPEND_SECCOMP until it lets go. */
long lmig_restore_seccomp(const struct lmig_rst_args *a, const struct lmig_rst_thread *t,
                          uint32_t *step, uint64_t *arg);

#endif
