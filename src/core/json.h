/*
 * vigil's JSON lines encoding of events (the interchange format of the
 * stdout, file and http outputs; documented in README.md) and JSON string
 * escaping shared by every writer.
 */
#ifndef VG_JSON_H
#define VG_JSON_H

#include <stddef.h>

#include <vigil/plugin.h>

#include "util.h"

/* Appends ev as one JSON object, without newline. */
void vg_json_event(struct vg_buf *out, const struct vg_event *ev);
/* Appends s (len bytes) as a quoted JSON string; invalid UTF-8 bytes are
 * written as \u00XX escapes of the byte so nothing is lost or rejected. */
void vg_json_string(struct vg_buf *out, const char *s, size_t len);
/* Appends a number; NaN and infinities as the strings "NaN", "+Inf",
 * "-Inf" (JSON has no literal for them). */
void vg_json_double(struct vg_buf *out, double d);

const char *vg_severity_name(unsigned severity);    /* "info", "warn" ... */
const char *vg_alert_severity_name(unsigned sev);   /* "critical" ...     */

#endif
