/*
 * The postgres output's tables, as SQL: versioned migrations (each one
 * idempotent, so a half-created schema is finished rather than refused),
 * the check a user-managed schema must pass, daily partitions, retention
 * and the TimescaleDB variant.  Version n is recorded in vigil_schema once
 * migration n has run in the same transaction.
 */
#ifndef VG_PG_SCHEMA_H
#define VG_PG_SCHEMA_H

#include <stdint.h>

#include "copy.h"

#define PG_SCHEMA_VERSION 2

/* Tables split by day when TimescaleDB is absent. */
#define PG_NTIMED 3
extern const char *const pg_timed_tables[PG_NTIMED];

/* Creates vigil_schema and returns the version: one row, one column. */
extern const char pg_schema_version_sql[];
/*
 * One row: missing (text: "table.column, ..." or NULL when complete), then
 * one boolean per pg_timed_tables entry: is it a partitioned table.
 */
extern const char pg_schema_check_sql[];

/* Migration to version v (1..PG_SCHEMA_VERSION), one transaction. */
int pg_schema_migration(struct pg_buf *b, int v, int partitioned);
/* CREATE TABLE ... PARTITION OF for day (days since the epoch, UTC). */
int pg_schema_partition(struct pg_buf *b, const char *table, int64_t day);
/* Drops the partitions wholly older than retention (s), old alerts and
 * commit tokens.  retention_s 0: only the tokens. */
int pg_schema_retention(struct pg_buf *b, int64_t retention_s,
                        int timescale);
/* TimescaleDB: hypertables, compression after compress_s (0 = none). */
int pg_schema_hypertables(struct pg_buf *b, int64_t compress_s);

#endif /* VG_PG_SCHEMA_H */
