/*
 * Privilege drop.  Supplementary groups go first, then the group, then the
 * user, and a final setuid(0) must fail: a drop that could be undone is
 * treated as no drop at all.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "privileges.h"

int
vg_drop_privileges(const char *user, const char *group,
                   const char *state_dir, char *why, size_t whylen)
{
    char buf[16384];
    struct passwd pw, *pwp = NULL;
    struct group gr, *grp = NULL;
    uid_t uid;
    gid_t gid;

    if (!user && !group)
        return 0;
    if (geteuid() != 0) {
        vg_core_log(VG_LOG_WARN, "agent.user/agent.group ignored: vigil is "
                    "not running as root");
        return 0;
    }
    if (user) {
        if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp) {
            snprintf(why, whylen, "agent.user '%s': no such user", user);
            return -ENOENT;
        }
        uid = pw.pw_uid;
        gid = pw.pw_gid;
    } else {
        uid = 0;
        gid = 0;
    }
    if (group) {
        char gbuf[16384];

        if (getgrnam_r(group, &gr, gbuf, sizeof(gbuf), &grp) != 0 || !grp) {
            snprintf(why, whylen, "agent.group '%s': no such group", group);
            return -ENOENT;
        }
        gid = gr.gr_gid;
    }
    /* The state directory must stay writable for offsets and buffers. */
    if (state_dir && chown(state_dir, user ? uid : (uid_t)-1, gid) < 0 &&
        errno != ENOENT)
        vg_core_log(VG_LOG_WARN, "cannot give state_dir '%s' to the agent "
                    "user: %s", state_dir, strerror(errno));
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 ||
        (user && setuid(uid) < 0)) {
        snprintf(why, whylen, "cannot switch to %s%s%s: %s",
                 user ? user : "", group ? ":" : "", group ? group : "",
                 strerror(errno));
        return -EPERM;
    }
    if (user && uid != 0 && setuid(0) == 0) {
        snprintf(why, whylen, "dropping root did not stick");
        return -EPERM;
    }
    vg_core_log(VG_LOG_INFO, "running as uid %u gid %u", (unsigned)getuid(),
                (unsigned)getgid());
    return 0;
}
