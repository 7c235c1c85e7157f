/*
 * vigil: command line, signals and the loop.  Exit codes: 0 clean stop,
 * 1 config or runtime failure, 2 bad command line.
 */
#include "vigil_config.h"

#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "notify.h"
#include "loader.h"
#include "log.h"
#include "options.h"
#include "util.h"

#define DEFAULT_CONFIG SYSCONFDIR "/vigil/vigil.yaml"

static void
usage(FILE *out)
{
    fprintf(out,
        "Usage: vigil [OPTION]...\n"
        "Collect host, application and log telemetry, analyse it and send it on.\n"
        "\n"
        "  -c, --config=FILE       run the pipelines of FILE (default: %s,\n"
        "                          or the embedded default when it is absent)\n"
        "      --check             validate the config and exit (0 valid, 1 not)\n"
        "      --list-plugins      print every plugin found, with its options\n"
        "      --format=FORMAT     --list-plugins as text (default) or man\n"
        "                          (roff for vigil.yaml(5))\n"
        "      --plugin-path=DIRS  plugin directories, ':'-separated\n"
        "                          (default: %s)\n"
        "      --log-level=LEVEL   error, warn, info, debug or trace\n"
        "  -h, --help              show this help and exit\n"
        "  -V, --version           show the version and exit\n"
        "\n"
        "Signals: SIGHUP reloads the config, SIGTERM and SIGINT stop after\n"
        "draining the queues (a second one stops at once).\n",
        DEFAULT_CONFIG, vg_default_plugin_path());
}

static void
on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    vg_core_log(VG_LOG_INFO, "received %s", strsignal(w->signum));
    vg_notify_stopping();
    vg_engine_shutdown(w->data);
}

static void
on_reload_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    vg_notify_reloading();
    vg_engine_reload(w->data, NULL);
    vg_notify_ready(loop);
}

enum list_format {
    LIST_TEXT,
    LIST_MAN,
};

static void
list_plugin_text(const struct vg_plugin *p)
{
    printf("\n%-6s %-12s %s\n", vg_kind_name(p->kind), p->name, p->summary);
    if (p->options && p->options[0].name)
        vg_options_describe(stdout, p->options, 4);
    else
        printf("    (no options)\n");
}

/* Roff text of a plugin's one-line strings: see vg_options_describe_man. */
static void
man_line(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
    putchar('\n');
}

static void
list_plugin_man(const struct vg_plugin *p)
{
    printf(".SS \"%s (%s)\"\n", p->name, vg_kind_name(p->kind));
    man_line(p->summary ? p->summary : "");
    if (p->options && p->options[0].name)
        vg_options_describe_man(stdout, p->options, "");
    else
        printf(".PP\nNo options.\n");
}

/*
 * The generated part of vigil.yaml(5): the agent section, the options the
 * core adds to every output, then each plugin, all from the schemas the
 * config is checked against, so the manual cannot drift from the code.
 */
static void
list_man_header(void)
{
    printf(".SH \"AGENT OPTIONS\"\n"
           "Keys of the top\\-level \\fBagent\\fR mapping; all optional.\n");
    vg_options_describe_man(stdout, vg_engine_agent_schema(), "");
    printf(".SH \"OUTPUT DELIVERY OPTIONS\"\n"
           "Every output instance takes these keys besides its plugin's "
           "own; the core\nhandles them (queue, retries, disk buffer).\n");
    vg_options_describe_man(stdout, vg_engine_output_schema(), "");
    printf(".SH PLUGINS\n"
           "The plugins installed with this vigil and their options, "
           "by kind and name.\n");
}

static int
list_plugins(const char *plugin_path, enum list_format format)
{
    struct vg_registry reg;
    const char *path = plugin_path ? plugin_path : getenv("VIGIL_PLUGIN_PATH");
    size_t i;
    int k;

    if (!path || !*path)
        path = vg_default_plugin_path();
    if (vg_registry_init(&reg, path) < 0) {
        fprintf(stderr, "vigil: cannot initialise the plugin loader\n");
        return 1;
    }
    vg_registry_load_all(&reg);
    if (format == LIST_MAN)
        list_man_header();
    else
        printf("plugin path: %s\n", path);
    for (k = VG_KIND_INPUT; k <= VG_KIND_OUTPUT; k++) {
        for (i = 0; i < reg.nmods; i++) {
            const struct vg_plugin *p = &reg.mods[i]->desc;

            if ((int)p->kind != k)
                continue;
            if (format == LIST_MAN)
                list_plugin_man(p);
            else
                list_plugin_text(p);
        }
    }
    for (i = 0; i < reg.nrefused; i++)
        fprintf(stderr, "vigil: refused %s\n", reg.refused[i].why);
    vg_registry_release(&reg);
    return 0;
}

static void
print_errors(const struct vg_errors *err)
{
    size_t i;

    for (i = 0; i < err->n; i++)
        fprintf(stderr, "%s\n", err->msgs[i]);
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, 'k' },
        { "list-plugins", no_argument, NULL, 'l' },
        { "plugin-path", required_argument, NULL, 'p' },
        { "format", required_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    struct vg_engine_opts opts = { 0 };
    struct vg_engine *eng;
    struct vg_errors err;
    struct ev_loop *loop;
    ev_signal sigint, sigterm, sighup;
    int c, check = 0, list = 0, rc;
    const char *format = NULL;
    enum list_format list_format = LIST_TEXT;

    while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.config_path = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'l':
            list = 1;
            break;
        case 'p':
            opts.plugin_path = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'L':
            if ((opts.log_level = vg_log_parse_level(optarg)) < 0) {
                fprintf(stderr, "vigil: unknown log level '%s' (use error, "
                        "warn, info, debug or trace)\n", optarg);
                return 2;
            }
            vg_log_set_level(opts.log_level);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("vigil %s (plugin ABI %d)\n", PACKAGE_VERSION,
                   VG_PLUGIN_ABI);
            if (*vg_notify_feature())
                printf("built with: %s\n", vg_notify_feature());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigil: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (format) {
        if (!list) {
            fprintf(stderr, "vigil: --format applies to --list-plugins "
                    "only\n");
            return 2;
        }
        if (strcmp(format, "man") == 0) {
            list_format = LIST_MAN;
        } else if (strcmp(format, "text") != 0) {
            fprintf(stderr, "vigil: unknown format '%s' (use text or man)\n",
                    format);
            return 2;
        }
    }
    if (list)
        return list_plugins(opts.plugin_path, list_format);
    if (!opts.config_path && access(DEFAULT_CONFIG, F_OK) == 0)
        opts.config_path = DEFAULT_CONFIG;

    signal(SIGPIPE, SIG_IGN);
    loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    eng = vg_engine_new(loop, &opts);
    vg_errors_init(&err);
    if (check) {
        rc = vg_engine_check(eng, &err);
        print_errors(&err);
        if (rc == 0)
            printf("%s: ok\n", vg_engine_config_name(eng));
        vg_errors_release(&err);
        vg_engine_free(eng);
        return rc == 0 ? 0 : 1;
    }
    if (!opts.config_path)
        vg_core_log(VG_LOG_INFO, "no config file (%s is absent): running the "
                    "embedded default pipeline", DEFAULT_CONFIG);
    if (vg_engine_start(eng, &err) < 0) {
        print_errors(&err);
        fprintf(stderr, "vigil: %s: not started\n",
                vg_engine_config_name(eng));
        vg_errors_release(&err);
        vg_engine_free(eng);
        return 1;
    }
    vg_errors_release(&err);

    ev_signal_init(&sigint, on_stop_signal, SIGINT);
    ev_signal_init(&sigterm, on_stop_signal, SIGTERM);
    ev_signal_init(&sighup, on_reload_signal, SIGHUP);
    sigint.data = sigterm.data = sighup.data = eng;
    ev_signal_start(loop, &sigint);
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sighup);

    vg_notify_ready(loop);
    ev_run(loop, 0);
    vg_notify_stop_watchdog(loop);

    rc = vg_engine_exit_code(eng);
    vg_engine_free(eng);
    ev_signal_stop(loop, &sigint);
    ev_signal_stop(loop, &sigterm);
    ev_signal_stop(loop, &sighup);
    ev_loop_destroy(loop);
    return rc;
}
