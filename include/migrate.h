/* Schema migrations: sql/NNN_name.sql applied in order, each in its own transaction. */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* Applies the files of dir not yet recorded in schema_migration; prints one line
 * per applied file. Running it twice applies nothing the second time. */
bool migrate_run(PGconn *conn, const char *dir, char *err, size_t errlen);

#endif
