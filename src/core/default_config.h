/*
 * The pipeline vigil runs when no config file is given and none exists at
 * the default path: host metrics printed to stdout, so a first run needs
 * nothing.
 */
#ifndef VG_DEFAULT_CONFIG_H
#define VG_DEFAULT_CONFIG_H

static const char vg_default_config[] =
    "# vigil's embedded default: host metrics to stdout.\n"
    "agent:\n"
    "  log_level: info\n"
    "  http: { listen: 127.0.0.1:2020 }\n"
    "pipelines:\n"
    "  host:\n"
    "    inputs:\n"
    "      - name: system\n"
    "        interval: 10s\n"
    "    filters:\n"
    "      - name: enrich\n"
    "    outputs:\n"
    "      - name: stdout\n"
    "        format: text\n";

#endif
