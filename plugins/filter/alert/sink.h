/*
 * What the alert and anomaly filters share around their alert engine:
 * the batch that alert events go into (derived from the batch being
 * processed, or new on a timer), turning an engine note into an alert
 * event, the timer that lets the engine fire and resolve between batches,
 * and the state file that keeps firing alerts across restarts.
 * Compiled into both plugins.
 */
#ifndef VG_ALERT_SINK_H
#define VG_ALERT_SINK_H

#include <vigil/plugin.h>

#include "alert.h"

#define ALERT_TEXT_MAX 2048             /* rendered summary/description */

struct alert_sink {
    struct vg_instance  *in;
    struct alert_engine *eng;
    char                *path;          /* state file, NULL: not kept */
    struct vg_batch     *parent;        /* batch being processed */
    struct vg_batch     *out;           /* events added meanwhile */
    struct vg_timer     *check;         /* ticks the engine */
    int64_t              every;         /* ns between ticks */
    int                  save_failed;
    char                 summary[ALERT_TEXT_MAX];
    char                 description[ALERT_TEXT_MAX];
};

/*
 * Sets k up for in and eng, ticking the engine every `every` ns once
 * started; with persist, the state file is
 * STATE_DIR/KIND-PIPELINE-INSTANCE.state (anything but [A-Za-z0-9_.-]
 * made '_') and the engine is loaded from it.  A file that cannot be read
 * or is not valid is logged and ignored: the engine starts empty.  0, or
 * -ENOMEM.
 */
int  alert_sink_open(struct alert_sink *k, struct vg_instance *in,
                     struct alert_engine *eng, const char *kind,
                     int persist, int64_t every);

/* Starts the ticks; stop ends them and saves the state file. */
void alert_sink_start(struct alert_sink *k);
void alert_sink_stop(struct alert_sink *k);

/* Adds ev to the output batch (made on first use).  0 or -errno. */
int  alert_sink_add(struct alert_sink *k, const struct vg_event *ev);

/* The engine's note callback: renders the rule's templates and adds the
 * alert event; counts alerts_firing, alerts_resolved or alerts_lost. */
void alert_sink_note(struct alert_sink *k, const struct alert_note *n);

/* Emits the output batch if it holds events, and forgets the parent. */
void alert_sink_flush(struct alert_sink *k);

/* Saves the state file if the engine changed; a failure is logged once
 * and retried on the next change. */
void alert_sink_sync(struct alert_sink *k);

/* Frees what alert_sink_open allocated. */
void alert_sink_release(struct alert_sink *k);

#endif
