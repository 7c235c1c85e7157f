/*
 * TCP framing (RFC 6587).  A count of up to 9 digits without a leading
 * zero, then a space, is octet counting; anything else is one line, so a
 * sender that writes an ISO date without PRI is still read line by line.
 */
#include <string.h>

#include "framing.h"

/* Length of an octet count header at buf: bytes used, 0 if none, -1 if
 * more bytes are needed to tell. */
static int
count_header(const char *buf, size_t len, size_t *count)
{
    size_t i, n = 0;

    if (buf[0] < '1' || buf[0] > '9')
        return 0;
    for (i = 0; i < len && i < 10 && buf[i] >= '0' && buf[i] <= '9'; i++)
        n = n * 10 + (size_t)(buf[i] - '0');
    if (i == len)
        return -1;
    if (i > 9 || buf[i] != ' ')
        return 0;
    *count = n;
    return (int)i + 1;
}

static size_t
find_end(const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (buf[i] == '\n' || buf[i] == '\0')
            return i;
    return len;
}

int
fr_next(struct fr_state *st, const char *buf, size_t len, size_t max,
        int eof, struct fr_frame *f, size_t *used)
{
    size_t i = 0, count = 0, end;
    int h, found;

    memset(f, 0, sizeof(*f));
    *used = 0;
    if (st->skip) {
        i = st->skip < len ? st->skip : len;
        st->skip -= i;
        if (st->skip) {
            *used = i;
            return 0;
        }
    }
    if (st->skip_to_lf) {
        end = find_end(buf + i, len - i);
        if (i + end == len) {
            *used = len;
            return 0;
        }
        i += end + 1;
        st->skip_to_lf = 0;
    }
    /* blank lines and stray terminators between frames */
    while (i < len && (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0'))
        i++;
    *used = i;
    if (i == len)
        return 0;

    h = count_header(buf + i, len - i, &count);
    if (h < 0 && !eof)
        return 0;
    if (h > 0) {
        size_t take = count > max ? max : count;

        if (len - i - (size_t)h < take && eof) {
            /* the sender closed mid-frame: keep what came, flagged */
            *used = len;
            if (len - i - (size_t)h == 0)
                return 0;
            f->msg = buf + i + h;
            f->len = len - i - (size_t)h;
            f->truncated = 1;
            return 1;
        }
        if (len - i - (size_t)h < take)
            return 0;
        f->msg = buf + i + h;
        f->len = take;
        f->truncated = count > max;
        st->skip = count - take;
        *used = i + (size_t)h + take;
        return 1;
    }

    end = find_end(buf + i, len - i);
    found = i + end < len;
    if (!found && end < max && !eof)
        return 0;
    if (end > max || (!found && end == max && !eof)) {
        /* cut here, drop the rest of the line when it comes */
        end = max;
        f->truncated = 1;
        st->skip_to_lf = 1;
        *used = i + end;
    } else {
        *used = found ? i + end + 1 : len;
    }
    f->msg = buf + i;
    f->len = end;
    if (f->len && f->msg[f->len - 1] == '\r')
        f->len--;
    return 1;
}
