/* Every SQL statement the API runs, by name: prepared once per connection. */
#ifndef QUERIES_H
#define QUERIES_H

#include <stdbool.h>
#include <stddef.h>

enum db_stmt {
	DB_STMT_PING,
	DB_STMT_METRICS_STATE,
	DB_STMT_DEVICE_LIST,
	DB_STMT_DEVICE_GET,
	DB_STMT_DEVICE_EXISTS,
	DB_STMT_DEVICE_RELEASES,
	DB_STMT_DEVICE_RELEASES_UNFILTERED,
	DB_STMT_DEVICE_VERSION,
	DB_STMT_DEVICE_LATEST,
	DB_STMT_DEVICE_UPDATES,
	DB_STMT_DEVICE_UPDATES_CURRENT,
	DB_STMT_RELEASES,
	DB_STMT_RELEASES_UNFILTERED,
	DB_STMT_RELEASES_LATEST,
	DB_STMT_RELEASE_BY_ID,
	DB_STMT_RELEASE_BY_FILENAME,
	DB_STMT_REGIONS,
	DB_STMT_BRANCHES,
	DB_STMT_DATA_VERSION,
	DB_STMT_TOKEN_BY_HASH,
	DB_STMT_TOKEN_USED,
	DB_STMT_TOKEN_WRITE_TAKE,
	DB_STMT_CHANGES,
	DB_STMT_AUDIT,
	DB_STMT_WITHDRAWN_FILENAMES,
	DB_STMT_WRITE_LOCK,
	DB_STMT_WRITE_UNLOCK,
	DB_STMT_RELEASE_WITHDRAW,
	DB_STMT_RELEASE_RESTORE,
	DB_STMT_VARIANT_PUT,
	DB_STMT_SUBSCRIPTION_CREATE,
	DB_STMT_SUBSCRIPTIONS,
	DB_STMT_SUBSCRIPTION_GET,
	DB_STMT_SUBSCRIPTION_PATCH,
	DB_STMT_SUBSCRIPTION_DELETE,
	DB_STMT_SUBSCRIPTION_ROTATE,
	DB_STMT_DELIVER_CLAIM,
	DB_STMT_DELIVER_NEXT,
	DB_STMT_DELIVER_RECORD,
	DB_STMT_DELIVER_NEXT_DUE,
	DB_STMT_DELIVER_REQUEST,
	DB_STMT_DELIVER_EVENT,
	DB_STMT_SUBSCRIPTION_REQUEST,
	DB_STMT_SUBSCRIPTION_DELIVERIES,
	DB_STMT_XFU_ENTRIES,
	DB_STMT_XFU_FEED_ENTRIES,
	DB_STMT_XFU_DEVICES,
	DB_STMT_XFU_FEED_NAME,
	DB_STMT__MAX
};

/*
 * Statements name their arguments: the SQL text says ":codename" where it takes one (a ":" that is
 * not part of a "::" cast nor inside a string literal), and a caller fills the member of that name
 * of struct db_args. db.c numbers the names into $1..$n when it prepares a statement and binds each
 * number from its member, so the text and the caller cannot disagree on what a position means. A
 * name that is not a member of struct db_args fails the statement table's check (unit.queries, and
 * every connection's preparation); a member the statement does not name is not sent.
 */
/* Not formatted: clang-format 14 takes the list for declarations and re-indents it each run. */
/* clang-format off */
#define DB_ARG_LIST(X)                                                                                   \
	X(q) X(codename) X(codenames) X(region) X(branch) X(type) X(version) X(android) X(family) X(since) \
	X(until) X(current) X(families) X(hyperos) X(numbers) X(device_code) X(region_code) X(suffix)     \
	X(variant_id) X(id) X(filename) X(after_date) X(after_version) X(after_id) X(after_codename)      \
	X(after_branch) X(after_type) X(limit) X(after_seq) X(actor) X(release_id)                      \
	X(secret_hash) X(scope) X(filenames)                                                           \
	X(request_id) X(reason) X(if_modified) X(variant) X(miui_name) X(names)                          \
	X(token) X(secret) X(body) X(grace)                                                              \
	X(ids) X(event_id) X(event_type) X(status) X(duration_ms) X(error) X(delivered) X(failed) X(requested) X(schedule) X(release) X(skip) X(positions) X(stamps) X(per_minute) X(burst) X(all)
/* clang-format on */

/* Text values, NULL for SQL NULL: what a statement reads by name. */
struct db_args {
#define DB_ARG__MEMBER(name) const char *name;
	DB_ARG_LIST(DB_ARG__MEMBER)
#undef DB_ARG__MEMBER
};

struct db_stmt_def {
	const char *name;
	const char *sql; /* with :named arguments */
};

extern const struct db_stmt_def db_stmts[DB_STMT__MAX];

/* The channel on which every change of the data announces its new data version
 * (sql/005_data_version_notify.sql); what DB_STMT_DATA_VERSION returns. */
#define DB_DATA_VERSION_CHANNEL "romtrack_data_version"
/* The channel on which a subscription that has something to deliver now (made, resumed) says so
 * (sql/015_subscriptions.sql); `romtrack deliver` wakes on it as on a data change. */
#define DB_DELIVER_CHANNEL "romtrack_deliver"

/* The columns of a release row (the select list RELEASE_COLUMNS), for the benchmark's design ceiling. */
extern const char db_release_columns[];

/*
 * Column lists: each row names a column and the SQL that yields it, once. A list gives the enum the
 * code reads a result by and the select list a statement writes (the first column without a comma).
 */
#define DB_COL__ENUM(id, sql) id,
#define DB_COL__FIRST(id, sql) sql
#define DB_COL__NEXT(id, sql) ", " sql

/* A release row. */
#define DB_RELEASE_COLUMNS(FIRST, NEXT)                                                                 \
	FIRST(RELCOL_ID, "r.id")                                                                        \
	NEXT(RELCOL_DEVICE, "d.codename")                                                               \
	NEXT(RELCOL_VARIANT, "v.codename")                                                              \
	NEXT(RELCOL_REGION, "r.region::text")                                                           \
	NEXT(RELCOL_NAMES, "coalesce((SELECT array_to_json(array_agg(DISTINCT n.name ORDER BY n.name))" \
			   " FROM release_name rn JOIN display_name n ON n.id = rn.display_name_id"     \
			   " WHERE rn.release_id = r.id), '[]')::text")                                 \
	NEXT(RELCOL_VERSION, "r.version")                                                               \
	NEXT(RELCOL_BRANCH, "r.branch::text")                                                           \
	NEXT(RELCOL_TYPE, "r.type::text")                                                               \
	NEXT(RELCOL_ANDROID, "r.android")                                                               \
	NEXT(RELCOL_SIZE, "r.size_bytes")                                                               \
	NEXT(RELCOL_MD5, "r.md5")                                                                       \
	NEXT(RELCOL_FILENAME, "r.filename")                                                             \
	NEXT(RELCOL_DATE, "to_char(r.release_date, 'YYYY-MM-DD')")                                      \
	NEXT(RELCOL_CHANGELOG, "r.changelog")                                                           \
	NEXT(RELCOL_LINKS, "array_to_json(r.links)::text")                                              \
	NEXT(RELCOL_INC_FROM, "r.incremental_from")                                                     \
	NEXT(RELCOL_INC_TO, "r.incremental_to")                                                         \
	NEXT(RELCOL_INC_FILENAME, "r.incremental_filename")                                             \
	NEXT(RELCOL_INC_URL, "r.incremental_url")                                                       \
	NEXT(RELCOL_WARNINGS, "array_to_json(r.warnings)::text")                                        \
	NEXT(RELCOL_SORT_DATE, "to_char(r.sort_date, 'YYYY-MM-DD')")                                    \
	NEXT(RELCOL_VERSION_SORT, "r.version_sort")                                                     \
	NEXT(RELCOL_MODIFIED, "to_char(r.modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
enum { DB_RELEASE_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) RELCOL__MAX };

/* A device's variant (DB_STMT_DEVICE_LIST, DB_STMT_DEVICE_GET). */
#define DB_DEVICE_COLUMNS(FIRST, NEXT)                                                         \
	FIRST(DEVCOL_DEVICE, "p.codename")                                                     \
	NEXT(DEVCOL_VARIANT, "v.codename")                                                     \
	NEXT(DEVCOL_REGION, "v.region::text")                                                  \
	NEXT(DEVCOL_NAMES, "coalesce((SELECT array_to_json(array_agg(n.name ORDER BY n.name))" \
			   " FROM display_name n WHERE n.variant_id = v.id), '[]')::text")
enum { DB_DEVICE_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) DEVCOL__MAX };

/* What romtrack knows of the version a device runs (DB_STMT_DEVICE_UPDATES_CURRENT). */
#define DB_CURRENT_COLUMNS(FIRST, NEXT)                  \
	FIRST(CURCOL_VARIANT_ID, "v.id")                 \
	NEXT(CURCOL_VARIANT, "v.codename")               \
	NEXT(CURCOL_REGION, "r.region::text")            \
	NEXT(CURCOL_BRANCH, "r.branch::text")            \
	NEXT(CURCOL_EXACT, "r.version = :current::text") \
	NEXT(CURCOL_SAME_SUFFIX, "bool_or(r.version_suffix = :suffix::text)")
enum { DB_CURRENT_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) CURCOL__MAX };

/* A value of an enumeration with its devices and releases (DB_STMT_REGIONS, DB_STMT_BRANCHES). */
#define DB_ENUM_COLUMNS(FIRST, NEXT)                         \
	FIRST(ENUMCOL_VALUE, "e.value::text")                \
	NEXT(ENUMCOL_DEVICES, "count(DISTINCT r.device_id)") \
	NEXT(ENUMCOL_RELEASES, "count(r.id)")
enum { DB_ENUM_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) ENUMCOL__MAX };

/* Whether and how a release was withdrawn, after its row's columns (DB_STMT_RELEASE_BY_ID, _BY_FILENAME). */
#define DB_WITHDRAWN_COLUMNS(FIRST, NEXT)                                                               \
	FIRST(WDCOL_AT, "to_char(r.withdrawn_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
	NEXT(WDCOL_BY, "r.withdrawn_by")                                                                \
	NEXT(WDCOL_REASON, "r.withdraw_reason")
enum { WDCOL__BEFORE = RELCOL__MAX - 1, DB_WITHDRAWN_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) WDCOL__MAX };

/* A change feed entry (DB_STMT_CHANGES), after the release row's columns (NULL for a release deleted by
 * hand): what changed, and the tombstone of a withdrawn one. */
#define DB_CHANGE_COLUMNS(FIRST, NEXT)                                                                            \
	FIRST(CHGCOL_SEQ, "c.seq")                                                                                \
	NEXT(CHGCOL_KIND, "c.kind::text")                                                                         \
	NEXT(CHGCOL_AT, "to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")                  \
	NEXT(CHGCOL_ACTOR, "c.actor")                                                                             \
	NEXT(CHGCOL_VIA, "c.via")                                                                                 \
	NEXT(CHGCOL_FIELDS, "c.fields::text")                                                                     \
	NEXT(CHGCOL_RELEASE_ID, "c.release_id")                                                                   \
	NEXT(CHGCOL_FILENAME, "c.filename")                                                                       \
	NEXT(CHGCOL_GONE, "r.id IS NULL OR r.withdrawn_at IS NOT NULL")                                           \
	NEXT(CHGCOL_WITHDRAWN_AT, "to_char(r.withdrawn_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
	NEXT(CHGCOL_WITHDRAWN_BY, "r.withdrawn_by")                                                               \
	NEXT(CHGCOL_REASON, "r.withdraw_reason")
enum { CHGCOL__BEFORE = RELCOL__MAX - 1, DB_CHANGE_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) CHGCOL__MAX };

/* A subscription `romtrack deliver` claimed (DB_STMT_DELIVER_CLAIM): whether a delivery asked for by hand waits,
 * where and how to send (the previous secret while its grace lasts), the failures of its head event so far. */
#define DB_CLAIM_COLUMNS(FIRST, NEXT)                   \
	FIRST(CLMCOL_SUBSCRIPTION, "subscription_id")   \
	NEXT(CLMCOL_REQUESTED, "requested")             \
	NEXT(CLMCOL_URL, "url")                         \
	NEXT(CLMCOL_SECRET, "secret")                   \
	NEXT(CLMCOL_PREVIOUS_SECRET, "previous_secret") \
	NEXT(CLMCOL_ATTEMPTS, "attempts")               \
	NEXT(CLMCOL_SETTINGS_AT, "settings_at")
enum { DB_CLAIM_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) CLMCOL__MAX };

/* An event to deliver (DB_STMT_DELIVER_NEXT, _EVENT): a change feed row, its event type and time, and the
 * subscriptions it goes to, as a bigint[] text. */
#define DB_DELIVER_COLUMNS(FIRST, NEXT)                                                                \
	FIRST(DLVCOL_EVENT_TYPE, "'release.' || c.kind::text")                                         \
	NEXT(DLVCOL_EVENT_AT, "to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')") \
	NEXT(DLVCOL_SUBSCRIPTIONS, "p.subs::text")
enum { DLVCOL__BEFORE = CHGCOL__MAX - 1, DB_DELIVER_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) DLVCOL__MAX };

/* An entry of XFU's latest.yml (DB_STMT_XFU_ENTRIES, _FEED_ENTRIES: export.c writes latest.yml and the RSS feeds from
 * it): a release under one of its display names, the codename of that name's variant (entry) and of its device; with
 * the fields a dump carries (changelog, mirrors, incremental, filename, declared) and the RSS feeds' dates (RFC 822).
 */
#define DB_XFU_COLUMNS(FIRST, NEXT)                                                                                \
	FIRST(XFUCOL_ANDROID, "e.android")                                                                         \
	NEXT(XFUCOL_BRANCH, "e.branch::text")                                                                      \
	NEXT(XFUCOL_CODENAME, "v.codename")                                                                        \
	NEXT(XFUCOL_DATE, "to_char(e.release_date, 'YYYY-MM-DD')")                                                 \
	NEXT(XFUCOL_LINK, "e.links[1]")                                                                            \
	NEXT(XFUCOL_MD5, "e.md5")                                                                                  \
	NEXT(XFUCOL_METHOD, "e.type::text")                                                                        \
	NEXT(XFUCOL_NAME,                                                                                          \
	     "coalesce(n.name, (SELECT min(name COLLATE \"C\") FROM display_name WHERE variant_id = v.id))")       \
	NEXT(XFUCOL_SIZE, "e.size_bytes")                                                                          \
	NEXT(XFUCOL_VERSION, "e.version")                                                                          \
	NEXT(XFUCOL_CHANGELOG, "e.changelog")                                                                      \
	NEXT(XFUCOL_MIRRORS, "array_to_json(e.links[2:])::text")                                                   \
	NEXT(XFUCOL_INCREMENTAL, "e.incremental_url")                                                              \
	NEXT(XFUCOL_FILENAME, "e.filename")                                                                        \
	NEXT(XFUCOL_DECLARED, "v.declared")                                                                        \
	NEXT(XFUCOL_DEVICE, "d.codename")                                                                          \
	NEXT(XFUCOL_PUBLISHED, "to_char(e.release_date, 'Dy, DD Mon YYYY \"00:00:00 +0000\"')")                    \
	NEXT(XFUCOL_MODIFIED, "to_char(e.modified_at AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS \"+0000\"')") \
	NEXT(XFUCOL_MODIFIED_ISO, "to_char(e.modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
enum { DB_XFU_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) XFUCOL__MAX };

/* An entry of the audit trail (DB_STMT_AUDIT): any subject. */
#define DB_AUDIT_COLUMNS(FIRST, NEXT)                                                            \
	FIRST(AUDCOL_SEQ, "c.seq")                                                               \
	NEXT(AUDCOL_AT, "to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')") \
	NEXT(AUDCOL_ACTOR, "c.actor")                                                            \
	NEXT(AUDCOL_VIA, "c.via")                                                                \
	NEXT(AUDCOL_REQUEST_ID, "c.request_id")                                                  \
	NEXT(AUDCOL_REASON, "c.reason")                                                          \
	NEXT(AUDCOL_KIND, "c.kind::text")                                                        \
	NEXT(AUDCOL_SUBJECT, "c.subject")                                                        \
	NEXT(AUDCOL_RELEASE_ID, "c.release_id")                                                  \
	NEXT(AUDCOL_FILENAME, "c.filename")                                                      \
	NEXT(AUDCOL_VARIANT, "c.variant")                                                        \
	NEXT(AUDCOL_FIELDS, "c.fields::text")
enum { DB_AUDIT_COLUMNS(DB_COL__ENUM, DB_COL__ENUM) AUDCOL__MAX };

/* The select list of a column list, e.g. DB_SELECT_LIST(DB_RELEASE_COLUMNS). */
#define DB_SELECT_LIST(list) list(DB_COL__FIRST, DB_COL__NEXT)

/* Numbers a statement's :named arguments. On success *sql is the text with $1..$n, and offsets[0..*n)
 * are the offsets in struct db_args of the arguments $1..$n (malloc'ed text, kept for the process).
 * False with a message in err for a name struct db_args lacks, a positional $n, or more than max. */
bool db_stmt_number(const char *named, char **sql, size_t *offsets, int *n, int max, char *err, size_t errlen);

#endif
