/*
 * Option schemas: checking a plugin's declared schema, filling its config
 * struct from a YAML mapping (every value typed and checked, every error
 * positioned), releasing what was filled, and describing the schema for
 * --list-plugins.
 */
#ifndef VG_OPTIONS_H
#define VG_OPTIONS_H

#include <stdio.h>

#include <vigil/plugin.h>

#include "config.h"

/* Checks a schema as the loader sees it: names set and unique, known types,
 * ENUM has choices, OBJECT/LIST have sub, LIST has elem_size, every default
 * parses for its type.  0, or -EINVAL with a reason in why. */
int vg_options_check_schema(const struct vg_option *schema, char *why,
                            size_t whylen);
/* The same, and every field must lie inside a conf of conf_size bytes and
 * be aligned for its type (LIST sub-options: inside elem_size bytes). */
int vg_options_check_conf(const struct vg_option *schema, size_t conf_size,
                          char *why, size_t whylen);

/*
 * Fills conf (zeroed by the caller) from map according to schema: defaults
 * first, then the keys of map.  `what` names the owner in messages
 * ("output 'http'").  Keys listed in `skip` (NULL-terminated; e.g. "name",
 * "alias") belong to the caller and are ignored.  Each problem adds one
 * error: unknown key (with "did you mean 'x'?" when one is close), wrong
 * type, bad duration/size/number, value not among the choices, missing
 * required option.  Returns 0 or -EINVAL.  Whatever was filled must be
 * released with vg_options_release, on success and on failure.
 *
 * Messages: "FILE:L:C: WHAT: unknown option 'urll' (did you mean 'url'?)"
 * at the key; "... option 'timeout' expects a duration (e.g. 10s, 500ms,
 * 5m), got 'abc'" at the value (secret values print as <secret>);
 * "... missing required option 'url'" at the mapping.  Nested options are
 * named by path: 'tls.verify', 'rules[2].severity' (indexes from 0).
 * A YAML null (`key:`, `~`, `null`, unquoted) keeps the default, and is
 * an error ("has no value") for a required option.  A STRLIST with n > 0
 * has a NULL after its last string.
 */
int vg_options_apply(const struct vg_option *schema, const struct vg_node *map,
                     void *conf, const char *what, const char *const *skip,
                     struct vg_errors *err);
void vg_options_release(const struct vg_option *schema, void *conf);

/* How many VG_OPT_SECRET options of map (nested ones too) are written
 * literally in the file rather than through ${...}: the file then holds
 * a secret and should not be readable by everyone. */
size_t vg_options_literal_secrets(const struct vg_option *schema,
                                  const struct vg_node *map);

/* The "did you mean" candidate among schema names, or NULL. */
const char *vg_options_suggest(const struct vg_option *schema,
                               const char *key);

/* "string", "duration", "list of strings", ... */
const char *vg_option_type_name(enum vg_opt_type t);

/* Prints the options as --list-plugins shows them, indented. */
void vg_options_describe(FILE *out, const struct vg_option *schema,
                         int indent);
/* Prints the options as roff for vigil.yaml(5): a .TP entry per option
 * named by its path after `prefix` ("" or e.g. "buffer."), with type,
 * choices, required, default (never a secret's) and help; nested ones
 * indented.  Text is escaped for roff. */
void vg_options_describe_man(FILE *out, const struct vg_option *schema,
                             const char *prefix);

#endif
