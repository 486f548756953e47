/* The statement table. Parameters only: no SQL text is ever built from request input. */
#include "queries.h"

#define DEVICE_VARIANT_ROWS                                                                    \
	"SELECT p.codename, v.codename, v.region::text,"                                       \
	" coalesce((SELECT json_agg(n.name ORDER BY n.name) FROM display_name n"              \
	"           WHERE n.variant_id = v.id), '[]')::text"                                  \
	" FROM page p JOIN variant v ON v.device_id = p.id"                                   \
	" ORDER BY p.codename, v.codename"

#define RELEASE_COLUMNS                                                                        \
	"r.id, d.codename, v.codename, r.region::text,"                                        \
	" coalesce((SELECT json_agg(n.name ORDER BY n.name) FROM release_name rn"             \
	"           JOIN display_name n ON n.id = rn.display_name_id"                         \
	"           WHERE rn.release_id = r.id), '[]')::text,"                                \
	" r.version, r.branch::text, r.type::text, r.android, r.size_bytes, r.md5, r.filename," \
	" to_char(r.release_date, 'YYYY-MM-DD'), r.changelog, array_to_json(r.links)::text,"  \
	" r.incremental_from, r.incremental_to, r.incremental_filename, r.incremental_url,"   \
	" array_to_json(r.warnings)::text, to_char(r.sort_date, 'YYYY-MM-DD'), r.version_sort"

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
		"SELECT " RELEASE_COLUMNS
		" FROM device d JOIN release r ON r.device_id = d.id JOIN variant v ON v.id = r.variant_id"
		" WHERE d.codename = $1::text"
		"   AND ($2::region IS NULL OR r.region = $2::region)"
		"   AND ($3::branch IS NULL OR r.branch = $3::branch)"
		"   AND ($4::package_type IS NULL OR r.type = $4::package_type)"
		"   AND ($5::text IS NULL OR r.version = $5::text)"
		"   AND ($6::text IS NULL OR r.android = $6::text OR split_part(r.android, '.', 1) = $6::text)"
		"   AND ($7::date IS NULL OR r.release_date >= $7::date)"
		"   AND ($8::date IS NULL OR r.release_date <= $8::date)"
		"   AND ($9::date IS NULL OR (r.sort_date, r.version_sort, r.id) < ($9::date, $10::text, $11::bigint))"
		" ORDER BY r.sort_date DESC, r.version_sort DESC, r.id DESC"
		" LIMIT $12::int", 12},

	/* $1 codename, $2 branch, $3 version: the packages of one download page */
	[DB_STMT_DEVICE_VERSION] = {"device_version",
		"SELECT " RELEASE_COLUMNS
		" FROM device d JOIN release r ON r.device_id = d.id JOIN variant v ON v.id = r.variant_id"
		" WHERE d.codename = $1::text AND r.branch = $2::branch AND r.version = $3::text"
		" ORDER BY v.codename, r.type, r.filename", 3},
};
