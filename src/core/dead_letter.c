/*
 * Dead-letter files.  Written on the loop thread: permanent failures are
 * rare, and a blocking append of one batch costs less than the machinery
 * to do it elsewhere.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "dead_letter.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "util.h"

/* "output[http#1]" -> "output-http-1": safe as a file name. */
static void
sanitize(const char *in, char *out, size_t len)
{
    size_t n = 0;
    int dash = 0;

    for (; *in && n + 1 < len; in++) {
        if (isalnum((unsigned char)*in) || *in == '_' || *in == '.') {
            out[n++] = *in;
            dash = 0;
        } else if (!dash && n) {
            out[n++] = '-';
            dash = 1;
        }
    }
    while (n && out[n - 1] == '-')
        n--;
    out[n] = '\0';
}

/* One line: the event, and why and when it was given up on. */
static void
dead_letter_line(struct vg_buf *out, const char *stamp, const char *pipeline,
                 const char *owner, const char *reason, unsigned attempts,
                 const struct vg_event *ev)
{
    vg_buf_addstr(out, "{\"time\":\"");
    vg_buf_addstr(out, stamp);
    vg_buf_addstr(out, "\",\"pipeline\":");
    vg_json_string(out, pipeline, strlen(pipeline));
    vg_buf_addstr(out, ",\"output\":");
    vg_json_string(out, owner, strlen(owner));
    vg_buf_addstr(out, ",\"reason\":");
    vg_json_string(out, reason, strlen(reason));
    vg_buf_addf(out, ",\"attempts\":%u,\"event\":", attempts);
    vg_json_event(out, ev);
    vg_buf_addstr(out, "}\n");
}

int
vg_dead_letter_write(const char *state_dir, const char *pipeline,
                     const char *owner, const struct vg_batch *b,
                     const uint32_t *index, const char *const *reason,
                     size_t n, unsigned attempts, const char **path)
{
    static char file[PATH_MAX];
    char pipe_s[128], owner_s[128], stamp[48];
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    struct vg_buf out;
    uint32_t i = 0;
    size_t r = 0;
    int fd, rc = 0;

    sanitize(pipeline, pipe_s, sizeof(pipe_s));
    sanitize(owner, owner_s, sizeof(owner_s));
    snprintf(file, sizeof(file), "%s/dead-letter", state_dir);
    if (path)
        *path = file;
    if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (mkdir(file, 0700) < 0 && errno != EEXIST)
        return -errno;
    snprintf(file, sizeof(file), "%s/dead-letter/%s.%s.jsonl", state_dir,
             pipe_s, owner_s);
    vg_buf_init(&out);
    vg_format_time(vg_wall_ns(), stamp, sizeof(stamp));
    while ((index ? r < n : n > 0) && vg_batch_next_raw(b, &it, &ev)) {
        if (!index) {
            dead_letter_line(&out, stamp, pipeline, owner, reason[0],
                             attempts, &ev);
        } else if (i++ == index[r]) {
            dead_letter_line(&out, stamp, pipeline, owner, reason[r],
                             attempts, &ev);
            r++;
        }
    }
    vg_iter_release_raw(&it);
    fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = vg_write_all(fd, out.data, out.len, NULL);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
out:
    vg_buf_release(&out);
    return rc;
}

int
vg_dead_letter_instance(struct vg_instance *in, const struct vg_batch *b,
                        const uint32_t *index, const char *const *reason,
                        size_t n, unsigned attempts, int level)
{
    static const char lost[] = "%zu events lost: cannot write the "
        "dead-letter file '%s': %s (they were rejected: %s)";
    static const char kept[] = "%zu events rejected, written to '%s'%s: %s";
    size_t events = index ? n : vg_batch_count_raw(b);
    const char *path = "?";
    int rc;

    rc = vg_dead_letter_write(vg_instance_state_dir(in), in->pipe->name,
                              in->name, b, index, reason, n, attempts,
                              &path);
    if (rc < 0) {
        vg_log_who(VG_LOG_ERROR, in->name, lost, lost, events, path,
                   vg_strerror(rc), reason[0]);
        vg_instance_count(in, "dropped_dead_letter_failed", (int64_t)events);
        return rc;
    }
    vg_log_who(level, in->name, kept, kept, events, path,
               index && n > 1 ? " (the first's reason)" : "", reason[0]);
    vg_instance_count(in, "dead_lettered", (int64_t)events);
    return 0;
}
