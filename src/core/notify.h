/*
 * Telling the service manager what the agent is doing (systemd's
 * sd_notify): ready once the pipelines run, reloading during a SIGHUP,
 * stopping on SIGTERM, and a watchdog kept fed while the loop turns.
 * Without --with-systemd these do nothing.
 */
#ifndef VG_NOTIFY_H
#define VG_NOTIFY_H

#include <ev.h>

void vg_notify_ready(struct ev_loop *loop);    /* starts the watchdog too */
void vg_notify_reloading(void);
void vg_notify_stopping(void);
void vg_notify_stop_watchdog(struct ev_loop *loop);
/* "systemd" when built with it, else "". */
const char *vg_notify_feature(void);

#endif
