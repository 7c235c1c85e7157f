/* The status page (src/core/www/status.html), compiled into the binary. */
#ifndef VG_STATUS_PAGE_H
#define VG_STATUS_PAGE_H

#include <stddef.h>

extern const char vg_status_page[];
extern const size_t vg_status_page_len;

#endif
