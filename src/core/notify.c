/*
 * sd_notify glue.  The watchdog is fed from a timer on the loop at half
 * the period systemd asks for: if the loop stalls, the feeding stops and
 * systemd restarts the agent.
 */
#include "vigil_config.h"

#include "log.h"
#include "notify.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static ev_timer watchdog;

static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    sd_notify(0, "WATCHDOG=1");
}

void
vg_notify_ready(struct ev_loop *loop)
{
    uint64_t usec = 0;

    sd_notify(0, "READY=1\nSTATUS=running");
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0 &&
        !ev_is_active(&watchdog)) {
        ev_timer_init(&watchdog, on_watchdog, (double)usec / 2e6,
                      (double)usec / 2e6);
        ev_timer_start(loop, &watchdog);
        vg_core_log(VG_LOG_INFO, "feeding the systemd watchdog every %.1fs",
                    (double)usec / 2e6);
    }
}

void
vg_notify_reloading(void)
{
    sd_notify(0, "RELOADING=1\nSTATUS=reloading the config");
}

void
vg_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=draining queues");
}

void
vg_notify_stop_watchdog(struct ev_loop *loop)
{
    ev_timer_stop(loop, &watchdog);
}

const char *
vg_notify_feature(void)
{
    return "systemd";
}

#else

void vg_notify_ready(struct ev_loop *loop) { (void)loop; }
void vg_notify_reloading(void) {}
void vg_notify_stopping(void) {}
void vg_notify_stop_watchdog(struct ev_loop *loop) { (void)loop; }
const char *vg_notify_feature(void) { return ""; }

#endif
