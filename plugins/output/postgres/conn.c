/*
 * Non-blocking libpq on the core's loop: see conn.h.  The socket is
 * re-read at every step because libpq may change it (a multi-host DSN
 * tries the next host on a new socket).  COPY data goes out in 64 KiB
 * pieces, each only once libpq's buffer has drained, so libpq never holds
 * a second copy of a large batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#define COPY_PIECE (64 * 1024)

enum conn_state {
    C_DOWN,
    C_CONNECTING,
    C_IDLE,
    C_BUSY,
};

enum copy_state {
    COPY_NONE,                          /* not a COPY, or not started */
    COPY_SENDING,                       /* COPY_IN: data going out */
    COPY_ENDED,                         /* PQputCopyEnd done */
};

struct pg_conn {
    struct vg_instance *in;
    const char *const  *keys;
    const char *const  *vals;
    int64_t             timeout;        /* ns without progress */
    pg_state_fn         on_state;
    void               *arg;

    PGconn             *pg;
    enum conn_state     state;
    struct vg_io       *io;
    int                 fd;             /* io's fd, -1 without io */
    struct vg_timer    *timer;

    pg_cmd_fn           done;           /* command in flight */
    void               *done_arg;
    const char         *copy_data;
    size_t              copy_len;
    size_t              copy_off;
    enum copy_state     copy;
    PGresult           *res;            /* first error, else last result */
    int                 res_err;
    char                err[256];
};

static void on_io(struct vg_instance *in, int fd, int revents, void *arg);

/* Keeps the first line of msg as the connection's error text. */
static void
set_error(struct pg_conn *c, const char *msg)
{
    size_t n;

    if (!msg || !*msg)
        msg = "unknown error";
    n = strcspn(msg, "\n");
    if (n >= sizeof(c->err))
        n = sizeof(c->err) - 1;
    memcpy(c->err, msg, n);
    c->err[n] = '\0';
}

static void
notice(void *arg, const char *msg)
{
    struct pg_conn *c = arg;

    vg_log(c->in, VG_LOG_DEBUG, "server notice: %.*s",
           (int)strcspn(msg, "\n"), msg);
}

/* Watches libpq's current socket for events (VG_IO_*). */
static int
watch(struct pg_conn *c, int events)
{
    int fd = PQsocket(c->pg);

    if (fd < 0)
        return -EBADF;
    if (c->io && fd != c->fd) {
        vg_io_free(c->in, c->io);
        c->io = NULL;
    }
    if (!c->io) {
        if (!(c->io = vg_io_new(c->in, fd, events, on_io, c)))
            return -ENOMEM;
        c->fd = fd;
        vg_io_start(c->in, c->io);
        return 0;
    }
    vg_io_set(c->in, c->io, events);
    return 0;
}

static void
drop(struct pg_conn *c)
{
    if (c->io) {
        vg_io_free(c->in, c->io);
        c->io = NULL;
    }
    c->fd = -1;
    vg_timer_stop(c->in, c->timer);
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    if (c->res) {
        PQclear(c->res);
        c->res = NULL;
    }
    c->state = C_DOWN;
    c->copy = COPY_NONE;
}

/* The connection failed or was lost: the command and the owner hear it. */
static void
fail(struct pg_conn *c, int rc, const char *why)
{
    pg_cmd_fn done = c->done;
    void *arg = c->done_arg;

    set_error(c, why ? why : c->pg ? PQerrorMessage(c->pg) : NULL);
    drop(c);
    c->done = NULL;
    if (done)
        done(c, rc, NULL, arg);
    c->on_state(c, rc, c->arg);
}

static void
arm_timer(struct pg_conn *c)
{
    if (c->timeout > 0)
        vg_timer_start(c->in, c->timer, c->timeout, 0);
}

static void
on_timeout(struct vg_instance *in, void *arg)
{
    struct pg_conn *c = arg;

    (void)in;
    if (c->state == C_CONNECTING)
        fail(c, -ETIMEDOUT, "connection timed out");
    else if (c->state == C_BUSY)
        fail(c, -ETIMEDOUT, "no answer from the server in time");
}

struct pg_conn *
pg_conn_new(struct vg_instance *in, const char *const *keys,
            const char *const *vals, int64_t timeout, pg_state_fn on_state,
            void *arg)
{
    struct pg_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->in = in;
    c->keys = keys;
    c->vals = vals;
    c->timeout = timeout;
    c->on_state = on_state;
    c->arg = arg;
    c->fd = -1;
    if (!(c->timer = vg_timer_new(in, on_timeout, c))) {
        free(c);
        return NULL;
    }
    return c;
}

void
pg_conn_free(struct pg_conn *c)
{
    if (!c)
        return;
    drop(c);
    vg_timer_free(c->in, c->timer);
    free(c);
}

int
pg_conn_start(struct pg_conn *c)
{
    int rc;

    if (c->state != C_DOWN)
        return -EALREADY;
    if (!(c->pg = PQconnectStartParams(c->keys, c->vals, 1))) {
        set_error(c, "out of memory");
        return -ENOMEM;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        set_error(c, PQerrorMessage(c->pg));
        drop(c);
        return -EINVAL;
    }
    PQsetNoticeProcessor(c->pg, notice, c);
    c->state = C_CONNECTING;
    /* libpq says: begin as if PQconnectPoll had asked for writing */
    if ((rc = watch(c, VG_IO_WRITE)) < 0) {
        set_error(c, "no socket to watch");
        drop(c);
        return rc;
    }
    arm_timer(c);
    return 0;
}

void
pg_conn_close(struct pg_conn *c)
{
    c->done = NULL;
    drop(c);
}

int
pg_conn_is_up(const struct pg_conn *c)
{
    return c->state == C_IDLE || c->state == C_BUSY;
}

int
pg_conn_is_idle(const struct pg_conn *c)
{
    return c->state == C_IDLE;
}

const char *
pg_conn_error(const struct pg_conn *c)
{
    return c->err;
}

PGconn *
pg_conn_pg(const struct pg_conn *c)
{
    return c->pg;
}

static void
connect_step(struct pg_conn *c)
{
    int rc = 0;

    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        rc = watch(c, VG_IO_READ);
        break;
    case PGRES_POLLING_WRITING:
        rc = watch(c, VG_IO_WRITE);
        break;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg, 1) != 0 ||
            (rc = watch(c, VG_IO_READ)) < 0) {
            fail(c, -EIO, NULL);
            return;
        }
        vg_timer_stop(c->in, c->timer);
        c->state = C_IDLE;
        c->err[0] = '\0';
        c->on_state(c, 0, c->arg);
        return;
    default:
        fail(c, -ECONNREFUSED, NULL);
        return;
    }
    if (rc < 0)
        fail(c, -EIO, NULL);
}

/*
 * Sends COPY data while libpq's buffer is empty; -1 on a lost link.  When
 * it returns with data left, the caller must wait for writable: libpq
 * refused more (its buffer is full) or the socket is.
 */
static int
copy_push(struct pg_conn *c)
{
    int refused = 0;

    while (c->copy == COPY_SENDING) {
        int f = PQflush(c->pg);
        size_t n;
        int r;

        if (f < 0)
            return -1;
        if (f > 0 || refused)
            return 0;                   /* wait for writable */
        if (c->copy_off == c->copy_len) {
            r = PQputCopyEnd(c->pg, NULL);
            if (r < 0)
                return -1;
            if (r == 0) {
                refused = 1;
                continue;
            }
            c->copy = COPY_ENDED;
            break;
        }
        n = c->copy_len - c->copy_off;
        if (n > COPY_PIECE)
            n = COPY_PIECE;
        r = PQputCopyData(c->pg, c->copy_data + c->copy_off, (int)n);
        if (r < 0)
            return -1;
        if (r == 0) {
            refused = 1;                /* flush, then wait */
            continue;
        }
        c->copy_off += n;
    }
    return 0;
}

static void
command_end(struct pg_conn *c)
{
    pg_cmd_fn done = c->done;
    void *arg = c->done_arg;
    PGresult *res = c->res;
    int rc = c->res_err ? -EIO : 0;

    vg_timer_stop(c->in, c->timer);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        fail(c, -ECONNRESET, NULL);
        return;
    }
    c->res = NULL;
    c->done = NULL;
    c->state = C_IDLE;
    c->copy = COPY_NONE;
    if (rc < 0)
        set_error(c, PQresultErrorMessage(res));
    done(c, rc, res, arg);
    PQclear(res);
}

/* Takes in results until the command is over or libpq needs more input. */
static void
command_step(struct pg_conn *c)
{
    PGresult *r;
    int f;

again:
    if (c->copy == COPY_SENDING && copy_push(c) < 0) {
        fail(c, -ECONNRESET, NULL);
        return;
    }
    if ((f = PQflush(c->pg)) < 0) {
        fail(c, -ECONNRESET, NULL);
        return;
    }
    /* data still to send waits for writable, even with libpq's buffer
     * empty: the next piece goes out then */
    if (watch(c, VG_IO_READ | (f || c->copy == COPY_SENDING ?
                               VG_IO_WRITE : 0)) < 0) {
        fail(c, -ECONNRESET, NULL);
        return;
    }
    if (c->copy == COPY_SENDING)
        return;
    while (!PQisBusy(c->pg)) {
        if (!(r = PQgetResult(c->pg))) {
            command_end(c);
            return;
        }
        switch (PQresultStatus(r)) {
        case PGRES_COPY_IN:
            PQclear(r);
            if (!c->copy_data) {
                /* a COPY we did not ask for: refuse it */
                PQputCopyEnd(c->pg, "unexpected COPY");
                continue;
            }
            c->copy = COPY_SENDING;
            goto again;
        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
        case PGRES_NONFATAL_ERROR:
            if (!c->res_err) {
                if (c->res)
                    PQclear(c->res);
                c->res = r;
                c->res_err = 1;
            } else {
                PQclear(r);
            }
            break;
        default:
            if (c->res_err) {
                PQclear(r);
            } else {
                if (c->res)
                    PQclear(c->res);
                c->res = r;
            }
            break;
        }
    }
}

static void
on_io(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct pg_conn *c = arg;

    (void)in;
    (void)fd;
    switch (c->state) {
    case C_CONNECTING:
        connect_step(c);
        return;
    case C_DOWN:
        return;
    default:
        break;
    }
    if ((revents & VG_IO_READ) && !PQconsumeInput(c->pg)) {
        fail(c, -ECONNRESET, NULL);
        return;
    }
    if (c->state == C_IDLE) {
        PGnotify *n;

        /* nothing asked: a closed socket or a server going away */
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            fail(c, -ECONNRESET, NULL);
            return;
        }
        while ((n = PQnotifies(c->pg)))
            PQfreemem(n);
        return;
    }
    arm_timer(c);                       /* progress: the clock restarts */
    command_step(c);
}

static int
command_begin(struct pg_conn *c, pg_cmd_fn done, void *arg, int sent)
{
    if (!sent) {
        set_error(c, PQerrorMessage(c->pg));
        /* a send fails on a dead link; a query error comes as a result */
        return PQstatus(c->pg) == CONNECTION_BAD ? -ECONNRESET : -EIO;
    }
    c->state = C_BUSY;
    c->done = done;
    c->done_arg = arg;
    c->res_err = 0;
    arm_timer(c);
    if (watch(c, VG_IO_READ | VG_IO_WRITE) < 0) {
        c->state = C_IDLE;
        c->done = NULL;
        return -EIO;
    }
    return 0;
}

int
pg_conn_query(struct pg_conn *c, const char *sql, pg_cmd_fn done, void *arg)
{
    if (c->state != C_IDLE)
        return -EBUSY;
    c->copy_data = NULL;
    return command_begin(c, done, arg, PQsendQuery(c->pg, sql));
}

int
pg_conn_params(struct pg_conn *c, const char *sql, int n,
               const char *const *values, pg_cmd_fn done, void *arg)
{
    if (c->state != C_IDLE)
        return -EBUSY;
    c->copy_data = NULL;
    return command_begin(c, done, arg,
                         PQsendQueryParams(c->pg, sql, n, NULL, values, NULL,
                                           NULL, 0));
}

int
pg_conn_copy(struct pg_conn *c, const char *sql, const char *data,
             size_t len, pg_cmd_fn done, void *arg)
{
    if (c->state != C_IDLE)
        return -EBUSY;
    c->copy_data = data ? data : "";
    c->copy_len = len;
    c->copy_off = 0;
    c->copy = COPY_NONE;
    return command_begin(c, done, arg, PQsendQuery(c->pg, sql));
}
