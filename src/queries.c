/* The statement table. Parameters only: no SQL text is ever built from request input. */
#include "queries.h"

#define DEVICE_VARIANT_ROWS                                                                    \
	"SELECT p.codename, v.codename, v.region::text,"                                       \
	" coalesce((SELECT array_to_json(array_agg(n.name ORDER BY n.name)) FROM display_name n" \
	"           WHERE n.variant_id = v.id), '[]')::text"                                  \
	" FROM page p JOIN variant v ON v.device_id = p.id"                                   \
	" ORDER BY p.codename, v.codename"

#define RELEASE_COLUMNS                                                                        \
	"r.id, d.codename, v.codename, r.region::text,"                                        \
	" coalesce((SELECT array_to_json(array_agg(DISTINCT n.name ORDER BY n.name)) FROM release_name rn" \
	"           JOIN display_name n ON n.id = rn.display_name_id"                         \
	"           WHERE rn.release_id = r.id), '[]')::text,"                                \
	" r.version, r.branch::text, r.type::text, r.android, r.size_bytes, r.md5, r.filename," \
	" to_char(r.release_date, 'YYYY-MM-DD'), r.changelog, array_to_json(r.links)::text,"  \
	" r.incremental_from, r.incremental_to, r.incremental_filename, r.incremental_url,"   \
	" array_to_json(r.warnings)::text, to_char(r.sort_date, 'YYYY-MM-DD'), r.version_sort,"     \
	" to_char(r.modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Newest first by version, not by date: versions with a grammar before those without,
 * HyperOS before MIUI, then the version's numbers; date and id only break ties. */
#define NEWEST_FIRST                                                                           \
	"(r.version_family <> 'other') DESC, (r.version LIKE 'OS%') DESC, r.version_numbers DESC," \
	" r.sort_date DESC, r.id DESC"

/* The filters every release listing shares: $2 region, $3 branch, $4 type. */
#define VARIANT_FILTERS                                                                        \
	" AND ($2::region IS NULL OR r.region = $2::region)"                                    \
	" AND ($3::branch IS NULL OR r.branch = $3::branch)"                                    \
	" AND ($4::package_type IS NULL OR r.type = $4::package_type)"

#define RELEASE_FROM                                                                           \
	" FROM device d JOIN release r ON r.device_id = d.id JOIN variant v ON v.id = r.variant_id"

/* Pages of releases: the page is cut from release alone, in the order of an index, and
 * only its rows are joined and dressed (a join first would make PostgreSQL sort every
 * release of the device before it can stop at the limit). */
#define RELEASE_PAGE_ORDER " ORDER BY r.sort_date DESC, r.version_sort DESC, r.id DESC"
#define RELEASE_PAGE(conditions, limit)                                                        \
	"SELECT " RELEASE_COLUMNS                                                              \
	" FROM (SELECT * FROM release r WHERE " conditions RELEASE_PAGE_ORDER " LIMIT " limit ") r" \
	" JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"          \
	RELEASE_PAGE_ORDER

const char db_release_columns[] = RELEASE_COLUMNS;

const struct db_stmt_def db_stmts[DB_STMT__MAX] = {
	[DB_STMT_PING] = {"ping", "SELECT 1", 0},

	/* $1 q (or NULL), $2 codename after which the page starts (or NULL), $3 page size */
	[DB_STMT_DEVICE_LIST] = {"device_list",
		"WITH page AS ("
		" SELECT d.id, d.codename FROM device d"
		" WHERE ($2::text IS NULL OR d.codename > $2::text)"
		"   AND ($1::text IS NULL"
		"        OR strpos(lower(d.codename), lower($1::text)) > 0"
		"        OR EXISTS (SELECT 1 FROM variant v WHERE v.device_id = d.id"
		"                   AND (strpos(lower(v.codename), lower($1::text)) > 0"
		"                        OR EXISTS (SELECT 1 FROM display_name n WHERE n.variant_id = v.id"
		"                                   AND strpos(lower(n.name), lower($1::text)) > 0))))"
		" ORDER BY d.codename LIMIT $3::int) "
		DEVICE_VARIANT_ROWS, 3},

	/* $1 base codename */
	[DB_STMT_DEVICE_GET] = {"device_get",
		"WITH page AS (SELECT d.id, d.codename FROM device d WHERE d.codename = $1::text) "
		DEVICE_VARIANT_ROWS, 1},

	[DB_STMT_DEVICE_EXISTS] = {"device_exists",
		"SELECT 1 FROM device WHERE codename = $1::text", 1},

	/* $1 codename, $2 region, $3 branch, $4 type, $5 version, $6 android, $7 since,
	 * $8 until, $9..$11 keyset position (sort date, version key, id) or NULL, $12 page size */
	[DB_STMT_DEVICE_RELEASES] = {"device_releases",
		RELEASE_PAGE("r.device_id = (SELECT id FROM device WHERE codename = $1::text)" VARIANT_FILTERS
		"   AND ($5::text IS NULL OR r.version = $5::text)"
		"   AND ($6::text IS NULL OR r.android = $6::text OR split_part(r.android, '.', 1) = $6::text)"
		"   AND ($7::date IS NULL OR r.release_date >= $7::date)"
		"   AND ($8::date IS NULL OR r.release_date <= $8::date)"
		"   AND ($9::date IS NULL OR (r.sort_date, r.version_sort, r.id) < ($9::date, $10::text, $11::bigint))",
		"$12::int"), 12},

	/* $1 codename, $2..$4 keyset position or NULL, $5 page size: the same pages without
	 * filters, the common request. With the filters' "$n IS NULL OR ..." in the text,
	 * PostgreSQL's generic plan reads and sorts every release of the device; without them
	 * it reads the index in order and stops at the limit. */
	[DB_STMT_DEVICE_RELEASES_UNFILTERED] = {"device_releases_unfiltered",
		RELEASE_PAGE("r.device_id = (SELECT id FROM device WHERE codename = $1::text)"
		"   AND ($2::date IS NULL OR (r.sort_date, r.version_sort, r.id) < ($2::date, $3::text, $4::bigint))",
		"$5::int"), 5},

	/* $1 codename, $2 branch, $3 version: the packages of one download page */
	[DB_STMT_DEVICE_VERSION] = {"device_version",
		"SELECT " RELEASE_COLUMNS RELEASE_FROM
		" WHERE d.codename = $1::text AND r.branch = $2::branch AND r.version = $3::text"
		" ORDER BY v.codename, r.type, r.filename", 3},

	/* $1 codename, $2..$4 filters: the newest offerable release per variant, branch and type
	 * (two variants of one region are two phones). Only ids and sort keys go through DISTINCT
	 * ON's sort, and the winners are joined after: sorting every release of the device with all
	 * its columns cost more than the rest of the request. */
	[DB_STMT_DEVICE_LATEST] = {"device_latest",
		"SELECT " RELEASE_COLUMNS
		" FROM (SELECT DISTINCT ON (r.variant_id, r.branch, r.type) r.id FROM release r"
		"       WHERE r.device_id = (SELECT id FROM device WHERE codename = $1::text) AND r.offerable" VARIANT_FILTERS
		"       ORDER BY r.variant_id, r.branch, r.type, " NEWEST_FIRST ") newest"
		" JOIN release r ON r.id = newest.id"
		" JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		" ORDER BY v.codename, r.branch, r.type", 4},

	/* $1 variant id, $2 region, $3 branch, $4 type, $5 the families of the current version's
	 * line, $6 1 for HyperOS, $7 the version's numbers, $8 its device code (NULL for weekly and
	 * beta versions, which have none): the newer offerable releases of the variant the device
	 * runs, newest first (the index of "latest", sql/008). The device code keeps a phone to its
	 * own builds where XFU lists a sibling under the same variant. */
	[DB_STMT_DEVICE_UPDATES] = {"device_updates",
		"SELECT " RELEASE_COLUMNS
		" FROM (SELECT * FROM release r"
		"       WHERE r.variant_id = $1::int AND r.branch = $3::branch AND r.type = $4::package_type"
		"         AND r.offerable AND r.region = $2::region"
		"         AND r.version_family = ANY ($5::version_family[])"
		"         AND ((r.version LIKE 'OS%')::int, r.version_numbers) > ($6::int, $7::integer[])"
		"         AND ($8::text IS NULL OR r.device_code = $8::text)"
		"       ORDER BY " NEWEST_FIRST " LIMIT 100) r"
		" JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		" ORDER BY " NEWEST_FIRST, 8},

	/* $1 codename, $2 the current version, $3 the families of its line, $4 its device code, $5
	 * its region code, $6 its suffix (NULL where it has none): what romtrack knows of the version
	 * a device runs. No row for an unknown device; else one row per variant, region and branch
	 * of the releases that are that version ("exact"), and of those of its line: same families,
	 * device code and region code (a row of NULLs when there are none). The last column tells
	 * whether some have the version's suffix (RF, FK mark variants that share a region code). */
	[DB_STMT_DEVICE_UPDATES_CURRENT] = {"device_updates_current",
		"SELECT v.id, v.codename, r.region::text, r.branch::text, r.version = $2::text,"
		" bool_or(r.version_suffix = $6::text)"
		" FROM device d LEFT JOIN release r ON r.device_id = d.id"
		"  AND (r.version = $2::text"
		"       OR (r.version_family = ANY ($3::version_family[])"
		"           AND ($4::text IS NULL OR r.device_code = $4::text)"
		"           AND r.region_code IS NOT DISTINCT FROM $5::text))"
		" LEFT JOIN variant v ON v.id = r.variant_id"
		" WHERE d.codename = $1::text"
		" GROUP BY v.id, v.codename, r.region, r.branch, r.version = $2::text"
		" ORDER BY v.codename, r.region, r.branch", 6},

	/* $1 codenames, $2..$4 filters, $5 android, $6 family, $7 since, $8 until, $9..$11 keyset,
	 * $12 page size: every release, newest first by date */
	[DB_STMT_RELEASES] = {"releases",
		RELEASE_PAGE("($1::text[] IS NULL OR r.device_id IN (SELECT id FROM device WHERE codename = ANY ($1::text[])))"
		VARIANT_FILTERS
		"   AND ($5::text IS NULL OR r.android = $5::text OR split_part(r.android, '.', 1) = $5::text)"
		"   AND ($6::version_family IS NULL OR r.version_family = $6::version_family)"
		"   AND ($7::date IS NULL OR r.release_date >= $7::date)"
		"   AND ($8::date IS NULL OR r.release_date <= $8::date)"
		"   AND ($9::date IS NULL OR (r.sort_date, r.version_sort, r.id) < ($9::date, $10::text, $11::bigint))",
		"$12::int"), 12},

	/* $1..$3 keyset position or NULL, $4 page size: every release without filters (as for
	 * one device: a plan that reads the index in order) */
	[DB_STMT_RELEASES_UNFILTERED] = {"releases_unfiltered",
		RELEASE_PAGE("($1::date IS NULL OR (r.sort_date, r.version_sort, r.id) < ($1::date, $2::text, $3::bigint))",
		"$4::int"), 4},

	/* $1 always NULL (keeps the filters at $2..$4), $5..$7 keyset (variant, branch, type),
	 * $8 page size: the newest offerable release of every variant, branch and type. A page of
	 * groups is cut first, then each group's newest release comes from the index of that order
	 * (sql/008). */
	[DB_STMT_RELEASES_LATEST] = {"releases_latest",
		"SELECT " RELEASE_COLUMNS
		" FROM (SELECT g.variant_id, g.branch, g.type, v.codename FROM"
		"        (SELECT DISTINCT r.variant_id, r.branch, r.type FROM release r"
		"         WHERE $1::text IS NULL AND r.offerable" VARIANT_FILTERS ") g"
		"        JOIN variant v ON v.id = g.variant_id"
		"        WHERE ($5::text IS NULL OR (v.codename, g.branch, g.type) > ($5::text, $6::branch, $7::package_type))"
		"        ORDER BY v.codename, g.branch, g.type LIMIT $8::int) g"
		" CROSS JOIN LATERAL (SELECT * FROM release r"
		"       WHERE r.variant_id = g.variant_id AND r.branch = g.branch AND r.type = g.type AND r.offerable"
		VARIANT_FILTERS
		"       ORDER BY " NEWEST_FIRST " LIMIT 1) r"
		" JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		" ORDER BY g.codename, g.branch, g.type", 8},

	[DB_STMT_RELEASE_BY_ID] = {"release_by_id",
		"SELECT " RELEASE_COLUMNS RELEASE_FROM " WHERE r.id = $1::bigint", 1},

	[DB_STMT_RELEASE_BY_FILENAME] = {"release_by_filename",
		"SELECT " RELEASE_COLUMNS RELEASE_FROM " WHERE r.filename = $1::text", 1},

	/* every region, with the devices and releases it has (zero included) */
	[DB_STMT_REGIONS] = {"regions",
		"SELECT e.value::text, count(DISTINCT r.device_id), count(r.id)"
		" FROM unnest(enum_range(NULL::region)) AS e(value) LEFT JOIN release r ON r.region = e.value"
		" GROUP BY e.value ORDER BY e.value", 0},

	[DB_STMT_BRANCHES] = {"branches",
		"SELECT e.value::text, count(DISTINCT r.device_id), count(r.id)"
		" FROM unnest(enum_range(NULL::branch)) AS e(value) LEFT JOIN release r ON r.branch = e.value"
		" GROUP BY e.value ORDER BY e.value", 0},

	/* what the response caches are valid for (sql/004_data_version.sql), read after each connect */
	[DB_STMT_DATA_VERSION] = {"data_version", "SELECT token || ':' || version FROM data_version", 0},
};

