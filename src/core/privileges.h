/*
 * Dropping root: vigil may start as root to open privileged ports and read
 * protected logs, then runs its pipelines as agent.user / agent.group.
 */
#ifndef VG_PRIVILEGES_H
#define VG_PRIVILEGES_H

#include <stddef.h>

/*
 * Switches to user (and group, or the user's primary group) for good, after
 * giving state_dir to them.  Not running as root: a no-op with a warning if
 * a user was asked for.  0, or a negative errno with a reason in why.
 */
int vg_drop_privileges(const char *user, const char *group,
                       const char *state_dir, char *why, size_t whylen);

#endif
