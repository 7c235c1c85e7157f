/*
 * libFuzzer target: the replay input's line parsers.  replay.c is
 * compiled in (its parsers are file-local).  The input is cut into lines
 * as next_line and next_rec cut a file (newlines, a trailing '\r', empty
 * lines skipped); every line goes through the CSV parser, with the header
 * state kept across lines as for one file, and a copy of it through the
 * JSON lines parser.  Parsed records get the static labels added and are
 * checked against the bounds the plugin relies on.
 */
#include "replay.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_pair static_labels[] = {
    { "host", "fuzz-1" },
    { "env", "test" },
};

static void
check_rec(const struct rec *r, const char *what)
{
    uint32_t i;

    if (r->nlabels > MAX_FIELDS + 1 || !r->name || !r->name[0]) {
        fprintf(stderr, "fuzz_replay: %s record: %u labels, name %p\n",
                what, r->nlabels, (const void *)r->name);
        abort();
    }
    for (i = 0; i < r->nlabels; i++) {
        if (!r->labels[i].key || !r->labels[i].v.s ||
            strlen(r->labels[i].v.s) < r->labels[i].len) {
            fprintf(stderr, "fuzz_replay: %s record: bad label %u\n",
                    what, i);
            abort();
        }
    }
}

static void
one_line(struct replay_state *st, char *line, size_t len)
{
    struct rec *r = &st->rec;
    char *copy;

    if (line[0] == '\0' || (line[0] == '\r' && line[1] == '\0'))
        return;
    if (line[strlen(line) - 1] == '\r')
        line[strlen(line) - 1] = '\0';
    copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, line, len + 1);

    memset(r, 0, offsetof(struct rec, labels));
    r->nlabels = 0;
    if (parse_csv(st, line, r) > 0) {
        add_static(st->conf, r);
        check_rec(r, "CSV");
    }
    memset(r, 0, offsetof(struct rec, labels));
    r->nlabels = 0;
    if (parse_jsonl(copy, r) > 0) {
        add_static(st->conf, r);
        check_rec(r, "JSON");
    }
    free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct replay_conf conf = {
        .metric = "replay",
        .labels = { 2, static_labels },
        .type = size % 2,
    };
    struct replay_state st;
    char *buf, *p, *end;

    memset(&st, 0, sizeof(st));
    st.conf = &conf;
    st.fd = -1;
    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (p = buf, end = buf + size; p < end; ) {
        char *nl = memchr(p, '\n', (size_t)(end - p));

        if (nl)
            *nl = '\0';
        one_line(&st, p, strlen(p));
        p = nl ? nl + 1 : end;
    }
    free(st.colnames);
    free(buf);
    return 0;
}
