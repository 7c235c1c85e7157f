/*
 * The alert state file: one line per firing alert, so a restart neither
 * pages again nor forgets what it must resolve.  Written whole to a temp
 * file, fsynced and renamed, so a crash leaves the old or the new file;
 * the "end N" trailer tells a truncated file from a complete one.
 *
 *   vigil-alert-state 1
 *   a RULE HASH STARTS_AT LAST_SENT LAST_SENT_WALL NOTIFIED VALUE N K=V...
 *   end COUNT
 *
 * Tokens are separated by one space; bytes that are blanks, controls, '%',
 * '=' or not ASCII are written %XX.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "alert.h"

#define STATE_MAGIC "vigil-alert-state 1"
#define MAX_LINE    65536

static void
put_esc(FILE *f, const char *s, size_t n)
{
    size_t i;

    if (n == 0) {
        fputs("%00", f);                /* an empty token stays visible */
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c >= 0x7f || c == '%' || c == '=')
            fprintf(f, "%%%02X", c);
        else
            fputc(c, f);
    }
}

static int
write_all(const struct alert_engine *e, FILE *f)
{
    size_t i, j, count = 0;
    uint32_t k;

    fprintf(f, "%s\n", STATE_MAGIC);
    for (i = 0; i < e->nrules; i++) {
        const struct alert_rule *r = &e->rules[i];

        for (j = 0; j < r->cap; j++) {
            const struct alert_series *s = &r->tab[j];

            if (!s->hash || s->phase != PHASE_FIRING)
                continue;
            fputs("a ", f);
            put_esc(f, r->conf->name, strlen(r->conf->name));
            fprintf(f, " %016" PRIx64 " %" PRId64 " %" PRId64 " %" PRId64
                    " %d %.17g %" PRIu32, s->hash, s->starts_at,
                    s->last_sent, s->last_sent_wall, s->notified, s->value,
                    s->nlabels);
            for (k = 0; k < s->nlabels; k++) {
                fputc(' ', f);
                put_esc(f, s->labels[k].key, s->labels[k].key_len);
                fputc('=', f);
                put_esc(f, s->labels[k].v.s, s->labels[k].len);
            }
            fputc('\n', f);
            count++;
        }
    }
    fprintf(f, "end %zu\n", count);
    return ferror(f) ? -EIO : 0;
}

int
alert_state_save(const struct alert_engine *e, const char *path)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    FILE *f = NULL;
    int fd = -1, rc;

    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   0600)) < 0 ||
        !(f = fdopen(fd, "w"))) {
        rc = -errno;
        goto fail;
    }
    fd = -1;                            /* f owns it now */
    if ((rc = write_all(e, f)) < 0)
        goto fail;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = -errno;
        goto fail;
    }
    rc = fclose(f);
    f = NULL;
    if (rc != 0 || rename(tmp, path) != 0) {
        rc = -errno;
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
}

/* Decodes a %XX-escaped token in place; -1 on a bad escape. */
static int
unescape(char *s)
{
    char *w = s;

    while (*s) {
        if (*s == '%') {
            unsigned v;

            if (!isxdigit((unsigned char)s[1]) ||
                !isxdigit((unsigned char)s[2]) ||
                sscanf(s + 1, "%2x", &v) != 1)
                return -1;
            if (v)
                *w++ = (char)v;
            s += 3;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
    return 0;
}

struct loaded {
    char                *rule;
    struct alert_series  s;
    struct vg_kv        *kv;
    char                *line;          /* owns the strings of kv */
};

/* Parses one "a ..." line into l (strings point into l->line). */
static int
parse_line(struct loaded *l)
{
    char *save = NULL, *tok[8], *t;
    unsigned long long h;
    uint32_t n, i;
    int k;

    for (k = 0; k < 8; k++)
        if (!(tok[k] = strtok_r(k ? NULL : l->line + 2, " ", &save)))
            return -1;
    l->rule = tok[0];
    if (unescape(l->rule) < 0 || sscanf(tok[1], "%llx", &h) != 1 ||
        sscanf(tok[2], "%" SCNd64, &l->s.starts_at) != 1 ||
        sscanf(tok[3], "%" SCNd64, &l->s.last_sent) != 1 ||
        sscanf(tok[4], "%" SCNd64, &l->s.last_sent_wall) != 1 ||
        sscanf(tok[5], "%d", &l->s.notified) != 1 ||
        sscanf(tok[6], "%lg", &l->s.value) != 1 ||
        sscanf(tok[7], "%" SCNu32, &n) != 1 || n > 1024 || h == 0)
        return -1;
    l->s.hash = (uint64_t)h;
    if (!(l->kv = calloc(n + 1, sizeof(*l->kv))))
        return -1;
    for (i = 0; i < n; i++) {
        char *eq;

        if (!(t = strtok_r(NULL, " ", &save)) || !(eq = strchr(t, '=')))
            return -1;
        *eq = '\0';
        if (unescape(t) < 0 || unescape(eq + 1) < 0)
            return -1;
        l->kv[i] = vg_kv_str(t, eq + 1);
    }
    if (strtok_r(NULL, " ", &save))
        return -1;
    l->s.nlabels = n;
    return 0;
}

static void
loaded_free(struct loaded *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(v[i].kv);
        free(v[i].line);
    }
    free(v);
}

/*
 * The whole file is checked before anything is applied, so a corrupt file
 * leaves the engine as it was.
 */
int
alert_state_load(struct alert_engine *e, const char *path, int64_t wall,
                 char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    struct loaded *v = NULL;
    size_t n = 0, cap = 0, i, j, count = 0, lineno = 1;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = -EINVAL, ended = 0;

    if (!f)
        return -errno;
    if ((len = getline(&line, &lcap, f)) < 0 ||
        strcmp(line, STATE_MAGIC "\n") != 0) {
        snprintf(err, errlen, "line 1: not an alert state file");
        goto done;
    }
    while ((len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        if (ended || line[len - 1] != '\n' || len > MAX_LINE) {
            snprintf(err, errlen, "line %zu: unexpected data", lineno);
            goto done;
        }
        line[len - 1] = '\0';
        if (strncmp(line, "end ", 4) == 0) {
            if (sscanf(line + 4, "%zu", &count) != 1 || count != n) {
                snprintf(err, errlen, "line %zu: count mismatch", lineno);
                goto done;
            }
            ended = 1;
            continue;
        }
        if (strncmp(line, "a ", 2) != 0) {
            snprintf(err, errlen, "line %zu: unknown record", lineno);
            goto done;
        }
        if (n == cap) {
            struct loaded *p;

            cap = cap ? cap * 2 : 16;
            if (!(p = realloc(v, cap * sizeof(*v)))) {
                rc = -ENOMEM;
                goto done;
            }
            v = p;
        }
        memset(&v[n], 0, sizeof(v[n]));
        if (!(v[n].line = strdup(line))) {
            rc = -ENOMEM;
            goto done;
        }
        n++;
        if (parse_line(&v[n - 1]) < 0) {
            snprintf(err, errlen, "line %zu: malformed alert", lineno);
            goto done;
        }
    }
    if (!ended) {
        snprintf(err, errlen, "truncated (no end record)");
        goto done;
    }

    for (i = 0; i < n; i++) {
        for (j = 0; j < e->nrules; j++) {
            struct alert_rule *r = &e->rules[j];
            struct alert_series *s;
            int created;

            if (strcmp(r->conf->name, v[i].rule) != 0)
                continue;
            s = alert_series_get(r, v[i].s.hash, v[i].kv, v[i].s.nlabels,
                                 &created);
            if (!s)
                break;
            /* the saved labels already hold add_labels and alertname */
            s->phase = PHASE_FIRING;
            s->notified = v[i].s.notified;
            s->starts_at = v[i].s.starts_at;
            s->last_sent = v[i].s.last_sent;
            s->last_sent_wall = v[i].s.last_sent_wall;
            s->value = v[i].s.value;
            s->last_wall = wall;
            break;
        }
    }
    rc = 0;
done:
    free(line);
    loaded_free(v, n);
    fclose(f);
    return rc;
}
