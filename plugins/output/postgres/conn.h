/*
 * A libpq connection driven by the core's loop: non-blocking connect
 * (PQconnectStartParams + PQconnectPoll on a vg_io), then one command at
 * a time (a simple query, a query with text parameters, or a COPY FROM
 * STDIN with its data), each ending in one callback.  Nothing here ever
 * blocks the loop; a timer bounds the connect and every command.
 */
#ifndef VG_PG_CONN_H
#define VG_PG_CONN_H

#include <stddef.h>

#include <libpq-fe.h>
#include <vigil/plugin.h>

struct pg_conn;

/*
 * A command ended.  rc 0: done, res is its last result (or NULL);
 * rc -EIO: the server refused it, res is the error result (sqlstate in
 * PG_DIAG_SQLSTATE), the connection is still usable; rc -ECONNRESET or
 * -ETIMEDOUT: the connection is gone (res NULL), on_down follows.
 * res belongs to the connection and is freed when the callback returns.
 */
typedef void (*pg_cmd_fn)(struct pg_conn *c, int rc, PGresult *res,
                          void *arg);
/* The connection is up (rc 0), or failed to come up or was lost (< 0). */
typedef void (*pg_state_fn)(struct pg_conn *c, int rc, void *arg);

/* keys/vals: libpq connection parameters; both borrowed for c's life. */
struct pg_conn *pg_conn_new(struct vg_instance *in, const char *const *keys,
                            const char *const *vals, int64_t timeout,
                            pg_state_fn on_state, void *arg);
void pg_conn_free(struct pg_conn *c);

/* Starts connecting; on_state tells how it went.  0 or -EALREADY. */
int pg_conn_start(struct pg_conn *c);
/* Closes the connection at once; a command in flight is not called back. */
void pg_conn_close(struct pg_conn *c);
int pg_conn_is_up(const struct pg_conn *c);      /* connected, idle or busy */
int pg_conn_is_idle(const struct pg_conn *c);    /* up, no command */
/* Last libpq error text, first line only (never holds a password). */
const char *pg_conn_error(const struct pg_conn *c);
PGconn *pg_conn_pg(const struct pg_conn *c);

/*
 * Commands: only when idle; each returns 0 (done is called exactly once,
 * later, from the loop) or a negative errno (done is not called; -EBUSY,
 * -EIO, or -ECONNRESET for a dead link, which on_state does not report).
 * sql, values and data are borrowed until done is called.
 */
int pg_conn_query(struct pg_conn *c, const char *sql, pg_cmd_fn done,
                  void *arg);
int pg_conn_params(struct pg_conn *c, const char *sql, int n,
                   const char *const *values, pg_cmd_fn done, void *arg);
int pg_conn_copy(struct pg_conn *c, const char *sql, const char *data,
                 size_t len, pg_cmd_fn done, void *arg);

#endif /* VG_PG_CONN_H */
