/* The statement table. Parameters only: no SQL text is ever built from request input. */
#include "queries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Select lists by name: clang-format keeps a name between string literals where they are, not a call. */
#define RELEASE_COLUMNS DB_SELECT_LIST(DB_RELEASE_COLUMNS)
#define DEVICE_COLUMNS DB_SELECT_LIST(DB_DEVICE_COLUMNS)
#define CURRENT_COLUMNS DB_SELECT_LIST(DB_CURRENT_COLUMNS)
#define ENUM_COLUMNS DB_SELECT_LIST(DB_ENUM_COLUMNS)
#define WITHDRAWN_COLUMNS DB_SELECT_LIST(DB_WITHDRAWN_COLUMNS)
#define CHANGE_COLUMNS DB_SELECT_LIST(DB_CHANGE_COLUMNS)
#define AUDIT_COLUMNS DB_SELECT_LIST(DB_AUDIT_COLUMNS)
#define DELIVER_COLUMNS DB_SELECT_LIST(DB_DELIVER_COLUMNS)
#define CLAIM_COLUMNS DB_SELECT_LIST(DB_CLAIM_COLUMNS)
#define XFU_COLUMNS DB_SELECT_LIST(DB_XFU_COLUMNS)

#define DEVICE_VARIANT_ROWS                                                          \
	"SELECT " DEVICE_COLUMNS " FROM page p JOIN variant v ON v.device_id = p.id" \
	" ORDER BY p.codename, v.codename"

/* Newest first: by version, not by date (the column "newest" of sql/009, which its index and
 * the export share). */
#define NEWEST_FIRST "r.newest DESC"

/* The filters every release listing shares. */
#define VARIANT_FILTERS                                                \
	" AND (:region::region IS NULL OR r.region = :region::region)" \
	" AND (:branch::branch IS NULL OR r.branch = :branch::branch)" \
	" AND (:type::package_type IS NULL OR r.type = :type::package_type)"

/* The keyset of release listings: after the last row of the previous page, if any. */
#define AFTER_BY_DATE                                                        \
	" (:after_date::date IS NULL OR (r.sort_date, r.version_sort, r.id)" \
	"  < (:after_date::date, :after_version::text, :after_id::bigint))"

#define RELEASE_FROM " FROM device d JOIN release r ON r.device_id = d.id JOIN variant v ON v.id = r.variant_id"

/* Pages of releases: the page is cut from release alone, in the order of an index, and
 * only its rows are joined and dressed (a join first would make PostgreSQL sort every
 * release of the device before it can stop at the limit). Withdrawn releases (sql/011) are in
 * no list; in latest and updates, "offerable" excludes them. */
#define RELEASE_PAGE_ORDER " ORDER BY r.sort_date DESC, r.version_sort DESC, r.id DESC"
#define RELEASE_PAGE(conditions, limit)                                                                  \
	"SELECT " RELEASE_COLUMNS                                                                        \
	" FROM (SELECT * FROM release r WHERE r.withdrawn_at IS NULL AND " conditions RELEASE_PAGE_ORDER \
	" LIMIT " limit ") r"                                                                            \
	" JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id" RELEASE_PAGE_ORDER

/* XFU's latest.yml: one row per release and display name (romtrack export, GET /api/xfu/...). The latest export
 * writes it under the variant of the name (XFU's codename for that name: wt98007's packages, which their file names
 * place in wt98007, are listed under HM2013023's names in latest.yml); a dump (:all) under the release's own variant,
 * so that importing it settles every release where it is. A release without a name is written under its variant's
 * first name. Withdrawn releases (sql/011) are in neither: they are offered nowhere, and a dump imported elsewhere
 * must not bring them back. */
#define XFU_ENTRIES                                                                                \
	"SELECT r.*, rn.display_name_id,"                                                          \
	" CASE WHEN :all::boolean THEN r.variant_id ELSE coalesce(n.variant_id, r.variant_id) END" \
	" AS entry_variant"                                                                        \
	" FROM release r LEFT JOIN release_name rn ON rn.release_id = r.id"                        \
	" LEFT JOIN display_name n ON n.id = rn.display_name_id"                                   \
	" WHERE r.withdrawn_at IS NULL"

/* The name a variant v is listed under: the one devices.yml gave it (sql/020), else its first in byte order. */
#define LISTED_NAME \
	"coalesce(v.listed_name, (SELECT min(n.name COLLATE \"C\") FROM display_name n WHERE n.variant_id = v.id))"

/* XFU's order of entries: codenames in byte order, as XFU sorts them; within one, branch, type, newest first, name. */
#define XFU_ORDER                                                                                            \
	" ORDER BY v.codename COLLATE \"C\", e.branch, e.type, e.sort_date DESC, e.version_sort DESC, e.id," \
	" n.name COLLATE \"C\""

/* The newest release per codename, branch and type, in the API's order (the column "newest" of sql/009). Only
 * withdrawn releases are left out, not every one /latest leaves out ("offerable", sql/008 and sql/011: an implausible
 * size, an error page): XFU's latest.yml lists those too (its "484 Bytes" entries). */
#define XFU_LATEST                                                                                    \
	"SELECT DISTINCT ON (entry_variant, branch, type) id, entry_variant FROM (" XFU_ENTRIES ") e" \
	" ORDER BY entry_variant, branch, type, newest DESC"

const char db_release_columns[] = RELEASE_COLUMNS;

const struct db_stmt_def db_stmts[DB_STMT__MAX] = {
	[DB_STMT_PING] = {"ping", "SELECT 1"},
	/* GET /metrics: the change feed's head, the changes after the enabled subscriptions' positions (summed),
	 * the subscriptions enabled and disabled */
	[DB_STMT_METRICS_STATE] =
		{"metrics_state",
		 "SELECT h.seq, coalesce(sum(greatest(h.seq - s.after_seq, 0)) FILTER (WHERE s.enabled), 0),"
		 " count(s.id) FILTER (WHERE s.enabled), count(s.id) FILTER (WHERE NOT s.enabled)"
		 " FROM change_head h LEFT JOIN subscription s ON true GROUP BY h.seq"},

	/* devices matching q (or all), from the one after after_codename */
	[DB_STMT_DEVICE_LIST] =
		{"device_list",
		 "WITH page AS ("
		 " SELECT d.id, d.codename FROM device d"
		 " WHERE (:after_codename::text IS NULL OR d.codename > :after_codename::text)"
		 "   AND (:q::text IS NULL"
		 "        OR strpos(lower(d.codename), lower(:q::text)) > 0"
		 "        OR EXISTS (SELECT 1 FROM variant v WHERE v.device_id = d.id"
		 "                   AND (strpos(lower(v.codename), lower(:q::text)) > 0"
		 "                        OR EXISTS (SELECT 1 FROM display_name n WHERE n.variant_id = v.id"
		 "                                   AND strpos(lower(n.name), lower(:q::text)) > 0))))"
		 " ORDER BY d.codename LIMIT :limit::int) " DEVICE_VARIANT_ROWS},

	[DB_STMT_DEVICE_GET] =
		{"device_get",
		 "WITH page AS (SELECT d.id, d.codename FROM device d WHERE d.codename = :codename::text) " DEVICE_VARIANT_ROWS},

	[DB_STMT_DEVICE_EXISTS] = {"device_exists", "SELECT 1 FROM device WHERE codename = :codename::text"},

	/* a page of a device's releases, with filters */
	[DB_STMT_DEVICE_RELEASES] =
		{"device_releases",
		 RELEASE_PAGE("r.device_id = (SELECT id FROM device WHERE codename = :codename::text)" VARIANT_FILTERS
			      "   AND (:version::text IS NULL OR r.version = :version::text)"
			      "   AND (:android::text IS NULL OR r.android = :android::text"
			      "        OR split_part(r.android, '.', 1) = :android::text)"
			      "   AND (:since::date IS NULL OR r.release_date >= :since::date)"
			      "   AND (:until::date IS NULL OR r.release_date <= :until::date)"
			      "   AND" AFTER_BY_DATE,
			      ":limit::int")},

	/* the same pages without filters, the common request. With the filters' "$n IS NULL OR ..." in the text,
	 * PostgreSQL's generic plan reads and sorts every release of the device; without them
	 * it reads the index in order and stops at the limit. */
	[DB_STMT_DEVICE_RELEASES_UNFILTERED] =
		{"device_releases_unfiltered",
		 RELEASE_PAGE(
			 "r.device_id = (SELECT id FROM device WHERE codename = :codename::text) AND" AFTER_BY_DATE,
			 ":limit::int")},

	/* the packages of one download page */
	[DB_STMT_DEVICE_VERSION] =
		{"device_version",
		 "SELECT " RELEASE_COLUMNS RELEASE_FROM
		 " WHERE d.codename = :codename::text AND r.branch = :branch::branch AND r.version = :version::text"
		 "   AND r.withdrawn_at IS NULL"
		 " ORDER BY v.codename, r.type, r.filename"},

	/* the newest offerable release per variant, branch and type
	 * (two variants of one region are two phones). Only ids and sort keys go through DISTINCT
	 * ON's sort, and the winners are joined after: sorting every release of the device with all
	 * its columns cost more than the rest of the request. */
	[DB_STMT_DEVICE_LATEST] =
		{"device_latest",
		 "SELECT " RELEASE_COLUMNS
		 " FROM (SELECT DISTINCT ON (r.variant_id, r.branch, r.type) r.id FROM release r"
		 "       WHERE r.device_id = (SELECT id FROM device WHERE codename = :codename::text) AND r.offerable" VARIANT_FILTERS
		 "       ORDER BY r.variant_id, r.branch, r.type, " NEWEST_FIRST ") newest"
		 " JOIN release r ON r.id = newest.id"
		 " JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		 " ORDER BY v.codename, r.branch, r.type"},

	/* Given the current version's line (families, hyperos 1 for HyperOS, its numbers, its device
	 * code: NULL for weekly and beta versions, which have none): the newer offerable releases of the variant the
	 * device runs, newest first (the index of "latest", sql/008). The device code keeps a phone to its own builds
	 * where XFU lists a sibling under the same variant. */
	[DB_STMT_DEVICE_UPDATES] =
		{"device_updates",
		 "SELECT " RELEASE_COLUMNS " FROM (SELECT * FROM release r"
		 "       WHERE r.variant_id = :variant_id::int AND r.branch = :branch::branch"
		 "         AND r.type = :type::package_type AND r.offerable AND r.region = :region::region"
		 "         AND r.version_family = ANY (:families::version_family[])"
		 "         AND ((r.version LIKE 'OS%')::int, r.version_numbers) > (:hyperos::int, :numbers::integer[])"
		 "         AND (:device_code::text IS NULL OR r.device_code = :device_code::text)"
		 "       ORDER BY " NEWEST_FIRST " LIMIT 100) r"
		 " JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		 " ORDER BY " NEWEST_FIRST},

	/* Given the current version, the families of its line, its device code, its region code and
	 * its suffix (NULL where it has none): what romtrack knows of the version
	 * a device runs. No row for an unknown device; else one row per variant, region and branch
	 * of the releases that are that version ("exact"), and of those of its line: same families,
	 * device code and region code (a row of NULLs when there are none). The last column tells
	 * whether some have the version's suffix (RF, FK mark variants that share a region code). Withdrawn
	 * releases count here: a phone may run a build that was pulled later, and still needs its updates,
	 * which the offerable releases of DB_STMT_DEVICE_UPDATES give. */
	[DB_STMT_DEVICE_UPDATES_CURRENT] =
		{"device_updates_current",
		 "SELECT " CURRENT_COLUMNS " FROM device d LEFT JOIN release r ON r.device_id = d.id"
		 "  AND (r.version = :current::text"
		 "       OR (r.version_family = ANY (:families::version_family[])"
		 "           AND (:device_code::text IS NULL OR r.device_code = :device_code::text)"
		 "           AND r.region_code IS NOT DISTINCT FROM :region_code::text))"
		 " LEFT JOIN variant v ON v.id = r.variant_id"
		 " WHERE d.codename = :codename::text"
		 " GROUP BY v.id, v.codename, r.region, r.branch, r.version = :current::text"
		 " ORDER BY v.codename, r.region, r.branch"},

	/* every release (of the codenames, if given), newest first by date */
	[DB_STMT_RELEASES] =
		{"releases",
		 RELEASE_PAGE(
			 "(:codenames::text[] IS NULL"
			 "    OR r.device_id IN (SELECT id FROM device WHERE codename = ANY (:codenames::text[])))" VARIANT_FILTERS
			 "   AND (:android::text IS NULL OR r.android = :android::text"
			 "        OR split_part(r.android, '.', 1) = :android::text)"
			 "   AND (:family::version_family IS NULL OR r.version_family = :family::version_family)"
			 "   AND (:since::date IS NULL OR r.release_date >= :since::date)"
			 "   AND (:until::date IS NULL OR r.release_date <= :until::date)"
			 "   AND" AFTER_BY_DATE,
			 ":limit::int")},

	/* every release without filters (as for one device: a plan that reads the index in order) */
	[DB_STMT_RELEASES_UNFILTERED] = {"releases_unfiltered", RELEASE_PAGE(AFTER_BY_DATE, ":limit::int")},

	/* a page (keyset: variant codename, branch, type) of the newest offerable release of every variant, branch and
	 * type. A page of groups is cut first, then each group's newest release comes from the index of that order
	 * (sql/008). */
	[DB_STMT_RELEASES_LATEST] =
		{"releases_latest",
		 "SELECT " RELEASE_COLUMNS " FROM (SELECT g.variant_id, g.branch, g.type, v.codename FROM"
		 "        (SELECT DISTINCT r.variant_id, r.branch, r.type FROM release r"
		 "         WHERE r.offerable" VARIANT_FILTERS ") g"
		 "        JOIN variant v ON v.id = g.variant_id"
		 "        WHERE (:after_codename::text IS NULL OR (v.codename, g.branch, g.type)"
		 "               > (:after_codename::text, :after_branch::branch, :after_type::package_type))"
		 "        ORDER BY v.codename, g.branch, g.type LIMIT :limit::int) g"
		 " CROSS JOIN LATERAL (SELECT * FROM release r"
		 "       WHERE r.variant_id = g.variant_id AND r.branch = g.branch AND r.type = g.type AND r.offerable" VARIANT_FILTERS
		 "       ORDER BY " NEWEST_FIRST " LIMIT 1) r"
		 " JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		 " ORDER BY g.codename, g.branch, g.type"},

	/* one release, withdrawn or not (a withdrawn one answers 410 with its withdrawal) */
	[DB_STMT_RELEASE_BY_ID] = {"release_by_id", "SELECT " RELEASE_COLUMNS ", " WITHDRAWN_COLUMNS RELEASE_FROM
						    " WHERE r.id = :id::bigint"},

	[DB_STMT_RELEASE_BY_FILENAME] = {"release_by_filename",
					 "SELECT " RELEASE_COLUMNS ", " WITHDRAWN_COLUMNS RELEASE_FROM
					 " WHERE r.filename = :filename::text"},

	/* every region, with the devices and releases it has (zero included) */
	[DB_STMT_REGIONS] =
		{"regions",
		 "SELECT " ENUM_COLUMNS
		 " FROM unnest(enum_range(NULL::region)) AS e(value) LEFT JOIN release r ON r.region = e.value"
		 "  AND r.withdrawn_at IS NULL"
		 " GROUP BY e.value ORDER BY e.value"},

	[DB_STMT_BRANCHES] =
		{"branches",
		 "SELECT " ENUM_COLUMNS
		 " FROM unnest(enum_range(NULL::branch)) AS e(value) LEFT JOIN release r ON r.branch = e.value"
		 "  AND r.withdrawn_at IS NULL"
		 " GROUP BY e.value ORDER BY e.value"},

	/* what the response caches are valid for (sql/004_data_version.sql), read after each connect */
	[DB_STMT_DATA_VERSION] = {"data_version", "SELECT token || ':' || version FROM data_version"},

	/* the live token (sql/010) whose secret hashes to secret_hash (hex): its id, name, hash (hex, which auth.c
	 * compares with its own), whether it holds scope (NULL: any), and whether its last use is a minute old */
	[DB_STMT_TOKEN_BY_HASH] =
		{"token_by_hash",
		 "SELECT t.id, t.name, encode(t.secret_hash, 'hex'),"
		 "       (:scope::text IS NULL OR :scope::text = ANY (t.scopes) OR 'admin' = ANY (t.scopes)),"
		 "       (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')"
		 " FROM api_token t WHERE t.secret_hash = decode(:secret_hash::text, 'hex')"
		 "   AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"},

	/* a token's last use, at most once a minute (two requests of the same minute may both ask) */
	/* a write of the token named :token takes one from its bucket (sql/019) */
	[DB_STMT_TOKEN_WRITE_TAKE] = {"token_write_take",
				      "SELECT allowed, remaining, ceil(reset_s)::bigint"
				      " FROM token_write_take(:token::text, :per_minute::float8, :burst::int)"},
	[DB_STMT_TOKEN_USED] = {"token_used",
				"UPDATE api_token SET last_used_at = now() WHERE id = :id::bigint"
				" AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"},

	/* The change feed (sql/011): changes to releases after a sequence number, in commit order, with the
	 * release as it is now (its columns NULL for one deleted by hand), filtered by what the release is now
	 * (a deleted one matches no filter). The index on seq gives the order; the filters are checked on the
	 * joined release until the limit is reached. */
	[DB_STMT_CHANGES] =
		{"changes",
		 "SELECT " RELEASE_COLUMNS ", " CHANGE_COLUMNS " FROM change c"
		 " LEFT JOIN release r ON r.id = c.release_id"
		 " LEFT JOIN device d ON d.id = r.device_id LEFT JOIN variant v ON v.id = r.variant_id"
		 " WHERE c.subject = 'release' AND c.seq > :after_seq::bigint"
		 "   AND (:codenames::text[] IS NULL"
		 "        OR r.device_id IN (SELECT id FROM device WHERE codename = ANY (:codenames::text[])))" VARIANT_FILTERS
		 "   AND (:android::text IS NULL OR r.android = :android::text"
		 "        OR split_part(r.android, '.', 1) = :android::text)"
		 "   AND (:family::version_family IS NULL OR r.version_family = :family::version_family)"
		 "   AND (:since::date IS NULL OR r.release_date >= :since::date)"
		 "   AND (:until::date IS NULL OR r.release_date <= :until::date)"
		 " ORDER BY c.seq LIMIT :limit::int"},

	/* The audit trail, newest first: every change (releases, variants, display names), a page after the
	 * sequence number after_seq (the cursor), by actor, release and since a day (UTC). */
	[DB_STMT_AUDIT] = {"audit",
			   "SELECT " AUDIT_COLUMNS " FROM change c"
			   " WHERE (:after_seq::bigint IS NULL OR c.seq < :after_seq::bigint)"
			   "   AND (:actor::text IS NULL OR c.actor = :actor::text)"
			   "   AND (:release_id::bigint IS NULL OR c.release_id = :release_id::bigint)"
			   "   AND (:since::date IS NULL OR c.at >= :since::date::timestamp AT TIME ZONE 'UTC')"
			   " ORDER BY c.seq DESC LIMIT :limit::int"},

	/* The withdrawn releases among file names (a text[] literal): POST /api/releases refuses them (409). */
	[DB_STMT_WITHDRAWN_FILENAMES] = {"withdrawn_filenames",
					 "SELECT r.filename, " WITHDRAWN_COLUMNS " FROM release r"
					 " WHERE r.filename = ANY (:filenames::text[]) AND r.withdrawn_at IS NOT NULL"
					 " ORDER BY r.filename"},
	/* The writes of h_writes.c hold, from their checks (If-Match, withdrawn) to their commit, the lock every
	 * import's transaction takes (import.c, pg_advisory_xact_lock(7201453)): a session's advisory locks nest,
	 * another writer waits. */
	[DB_STMT_WRITE_LOCK] = {"write_lock", "SELECT pg_advisory_lock(7201453)"},
	[DB_STMT_WRITE_UNLOCK] = {"write_unlock", "SELECT pg_advisory_unlock(7201453)"},

	/* The state writes (sql/013_writes.sql): one statement each, so one transaction, with the writer named
	 * for the change log; via is the route. Each answers its outcome as text. */
	[DB_STMT_RELEASE_WITHDRAW] = {"release_withdraw",
				      "SELECT release_withdraw(:id::bigint, :actor::text, 'DELETE /api/releases/{id}',"
				      " :request_id::text, :reason::text, :if_modified::text)"},
	[DB_STMT_RELEASE_RESTORE] =
		{"release_restore",
		 "SELECT release_restore(:id::bigint, :actor::text, 'POST /api/releases/{id}/restore',"
		 " :request_id::text)"},
	/* names: a JSON array of strings */
	[DB_STMT_VARIANT_PUT] =
		{"variant_put", "SELECT outcome, coalesce(detail, '') FROM variant_put(:codename::text, :variant::text,"
				" :region::region, :miui_name::text,"
				" ARRAY(SELECT jsonb_array_elements_text(:names::jsonb)), :actor::text,"
				" 'PUT /api/devices/{codename}/variants/{variant}', :request_id::text)"},

	/* Webhook subscriptions (sql/015_subscriptions.sql): :token is the name of the request's token, which
	 * sees its own subscriptions (every one with the admin scope); :body is the request's JSON as the handler
	 * has checked it. Pages by id, newest first. */
	[DB_STMT_SUBSCRIPTION_CREATE] = {"subscription_create",
					 "SELECT outcome, coalesce(detail, ''), doc::text"
					 " FROM subscription_create(:token::text, :secret::text, :body::jsonb)"},
	[DB_STMT_SUBSCRIPTIONS] =
		{"subscriptions",
		 "SELECT s.id, subscription_doc(s)::text FROM subscription s, subscription_viewer(:token::text) v"
		 " WHERE (s.owner_id = v.token_id OR v.sees_all)"
		 "   AND (:after_id::bigint IS NULL OR s.id < :after_id::bigint)"
		 " ORDER BY s.id DESC LIMIT :limit::int"},
	[DB_STMT_SUBSCRIPTION_GET] =
		{"subscription_get",
		 "SELECT subscription_doc(s)::text FROM subscription s, subscription_viewer(:token::text) v"
		 " WHERE s.id = :id::bigint AND (s.owner_id = v.token_id OR v.sees_all)"},
	[DB_STMT_SUBSCRIPTION_PATCH] =
		{"subscription_patch",
		 "SELECT outcome, doc::text FROM subscription_patch(:token::text, :id::bigint, :body::jsonb)"},
	[DB_STMT_SUBSCRIPTION_DELETE] = {"subscription_delete",
					 "DELETE FROM subscription s USING subscription_viewer(:token::text) v"
					 " WHERE s.id = :id::bigint AND (s.owner_id = v.token_id OR v.sees_all)"},
	[DB_STMT_SUBSCRIPTION_ROTATE] = {"subscription_rotate",
					 "SELECT subscription_rotate(:token::text, :id::bigint, :secret::text,"
					 " make_interval(secs => :grace::int))::text"},

	/* The delivery (src/deliver.c, sql/015): the subscriptions with an event due, but for those in :ids
	 * (a text[] literal of the ones this deliverer has in flight); the lock that makes one deliverer at a
	 * time deliver a subscription; its next event, as the change feed gives it; moving an idle one to the
	 * head; the record of an attempt; and how long until the next retry is due (seconds; -1: none). */
	/* `romtrack deliver` in batches (sql/016_delivery_batches.sql): forget what was recorded or had nothing to
	 * send and claim what is due; the next events (up to :limit each) of the claimed subscriptions, one row
	 * per change with the subscriptions it goes to, in feed order; the answers of many deliveries. */
	[DB_STMT_DELIVER_CLAIM] = {"deliver_claim",
				   "SELECT " CLAIM_COLUMNS " FROM delivery_claim(:release::bigint[], :skip::bigint[],"
				   " :ids::bigint[], :limit::int)"},
	[DB_STMT_DELIVER_NEXT] =
		{"deliver_next",
		 /* LATERAL: an index scan of the feed from each subscription's position on, not the whole feed
		  * (bench/deliver.py measured 101 ms a delivery with a plain join); the release's columns once per
		  * change, not once per subscription */
		 /* :positions: where each of :ids goes on from, the last event the deliverer sent it (its
		  * answer may not be recorded yet); NULL: the subscription's own position. :stamps: when the
		  * settings the deliverer has were written (sql/018): none for a subscription changed since */
		 "WITH pairs AS (SELECT s.id AS subscription, n.seq"
		 "   FROM unnest(:ids::bigint[], :positions::bigint[], :stamps::timestamptz[]) AS w (id, after, stamp)"
		 "   JOIN subscription s ON s.id = w.id AND s.updated_at = w.stamp CROSS JOIN LATERAL"
		 "   (SELECT c0.seq FROM change c0 WHERE c0.subject = 'release'"
		 "     AND c0.seq > greatest(w.after, s.after_seq)"
		 "     AND subscription_wants(s, c0) ORDER BY c0.seq LIMIT :limit::int) n"
		 "   WHERE s.enabled AND coalesce(s.next_attempt_at, '-infinity') <= now())"
		 " SELECT " RELEASE_COLUMNS ", " CHANGE_COLUMNS ", " DELIVER_COLUMNS
		 " FROM (SELECT seq, array_agg(subscription ORDER BY subscription) AS subs FROM pairs GROUP BY seq) p"
		 " JOIN change c ON c.seq = p.seq LEFT JOIN release r ON r.id = c.release_id"
		 " LEFT JOIN device d ON d.id = r.device_id LEFT JOIN variant v ON v.id = r.variant_id"
		 " ORDER BY c.seq"},
	[DB_STMT_DELIVER_RECORD] = {"deliver_record",
				    "SELECT delivery_record_many(:delivered::jsonb, :failed::jsonb, :requested::jsonb,"
				    " :schedule::float8[])"},
	[DB_STMT_DELIVER_NEXT_DUE] =
		{"deliver_next_due",
		 /* seconds until a subscription behind the head and not this deliverer's is due: 1 when one is
		  * due already (another deliverer holds it, or there was no room: looked at again in a second,
		  * in case that deliverer is gone), else its next retry's time (0.25 at least); -1: none */
		 "SELECT CASE WHEN bool_or(coalesce(s.next_attempt_at, '-infinity') <= now()) THEN 1"
		 " WHEN min(s.next_attempt_at) IS NULL THEN -1"
		 " ELSE greatest(extract(epoch FROM min(s.next_attempt_at) - now()), 0.25) END::float8"
		 " FROM subscription s, change_head h WHERE s.enabled"
		 "   AND s.after_seq < h.seq AND s.id <> ALL (:ids::bigint[])"},
	/* Deliveries asked for by hand (sql/015's delivery_request): the oldest of a subscription; its event, in
	 * DB_STMT_DELIVER_NEXT's columns. */
	[DB_STMT_DELIVER_REQUEST] = {"deliver_request",
				     "SELECT q.id, q.seq FROM delivery_request q WHERE q.subscription_id = :id::bigint"
				     " ORDER BY q.id LIMIT 1"},
	[DB_STMT_DELIVER_EVENT] =
		{"deliver_event",
		 "SELECT " RELEASE_COLUMNS ", " CHANGE_COLUMNS ", " DELIVER_COLUMNS
		 " FROM (SELECT :after_seq::bigint AS seq, ARRAY[:id::bigint] AS subs) p"
		 " JOIN change c ON c.seq = p.seq AND c.subject = 'release' LEFT JOIN release r ON r.id = c.release_id"
		 " LEFT JOIN device d ON d.id = r.device_id LEFT JOIN variant v ON v.id = r.variant_id"},
	/* The API's side: asking for a delivery by hand (:after_seq NULL: a ping), and the attempts of a
	 * subscription the token sees, newest first, in keyset pages. */
	[DB_STMT_SUBSCRIPTION_REQUEST] = {"subscription_request",
					  "SELECT outcome, coalesce(detail, '')"
					  " FROM delivery_request_add(:token::text, :id::bigint, :after_seq::bigint)"},
	[DB_STMT_SUBSCRIPTION_DELIVERIES] =
		{"subscription_deliveries",
		 "SELECT a.id, json_build_object('id', a.id, 'event_id', a.event_id, 'seq', a.seq, 'type', a.event_type,"
		 " 'attempt', a.attempt, 'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
		 " 'status', a.status, 'duration_ms', a.duration_ms, 'error', a.error,"
		 " 'next_attempt_at', to_char(a.next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		 " 'requested', a.requested)::text"
		 " FROM delivery_attempt a JOIN subscription s ON s.id = a.subscription_id,"
		 " subscription_viewer(:token::text) v"
		 " WHERE a.subscription_id = :id::bigint AND (s.owner_id = v.token_id OR v.sees_all)"
		 "   AND (:after_id::bigint IS NULL OR a.id < :after_id::bigint)"
		 " ORDER BY a.id DESC LIMIT :limit::int"},

	/* XFU's latest.yml (the newest of each codename, branch and type; with :all every release). Codenames in byte
	 * order, as XFU sorts them. */
	[DB_STMT_XFU_ENTRIES] = {"xfu_entries",
				 "SELECT " XFU_COLUMNS " FROM (" XFU_ENTRIES
				 ") e JOIN variant v ON v.id = e.entry_variant"
				 " JOIN device d ON d.id = v.device_id"
				 " LEFT JOIN display_name n ON n.id = e.display_name_id"
				 " WHERE :all::boolean OR (e.id, e.entry_variant) IN (" XFU_LATEST ")" XFU_ORDER},
	/* The entries of latest.yml an RSS feed has: those whose codename before its first "_" is the feed's, as
	 * XFU's tracker files them (rss/dandelion.xml has dandelion_c3l2's too), the same rows as xfu_entries gives for
	 * them: the releases named by those variants' names, under the name's variant, and those without a name, under
	 * their own. Read from the variants' names by index, not from every release (5.6 ms instead of 379 ms a feed
	 * in the whole archive). */
	[DB_STMT_XFU_FEED_ENTRIES] =
		{"xfu_feed_entries",
		 "WITH dv AS (SELECT v.id FROM variant v WHERE split_part(v.codename, '_', 1) = :codename::text),"
		 " e AS (SELECT r.*, rn.display_name_id, n.variant_id AS entry_variant"
		 "  FROM display_name n JOIN release_name rn ON rn.display_name_id = n.id"
		 "  JOIN release r ON r.id = rn.release_id"
		 "  WHERE n.variant_id IN (SELECT id FROM dv) AND r.withdrawn_at IS NULL"
		 "  UNION ALL SELECT r.*, NULL, r.variant_id FROM release r"
		 "  WHERE r.variant_id IN (SELECT id FROM dv) AND r.withdrawn_at IS NULL"
		 "    AND NOT EXISTS (SELECT FROM release_name rn WHERE rn.release_id = r.id)),"
		 " l AS (SELECT DISTINCT ON (entry_variant, branch, type) id, entry_variant FROM e"
		 "  ORDER BY entry_variant, branch, type, newest DESC)"
		 " SELECT " XFU_COLUMNS
		 " FROM e JOIN variant v ON v.id = e.entry_variant JOIN device d ON d.id = v.device_id"
		 " LEFT JOIN display_name n ON n.id = e.display_name_id"
		 " WHERE (e.id, e.entry_variant) IN (SELECT id, entry_variant FROM l)" XFU_ORDER},
	/* XFU's devices.yml: each declared variant, the name it is listed under (sql/020, else its first name) and
	 * its MIUI name, in byte order */
	[DB_STMT_XFU_DEVICES] =
		{"xfu_devices",
		 "SELECT codename, name, miui_name FROM (SELECT v.codename, " LISTED_NAME " AS name, v.miui_name"
		 " FROM variant v WHERE v.declared) l WHERE name IS NOT NULL ORDER BY codename COLLATE \"C\""},
	/* The name in the title of an RSS feed: the listed name of the variant whose codename is the feed's (else of
	 * its first variant); no row when no variant's codename starts with it */
	[DB_STMT_XFU_FEED_NAME] =
		{"xfu_feed_name", "SELECT " LISTED_NAME " FROM variant v"
				  " WHERE split_part(v.codename, '_', 1) = :codename::text"
				  " ORDER BY v.codename <> :codename::text, v.listed_name IS NULL, v.codename LIMIT 1"},
};

/* Every argument name a statement may use: the members of struct db_args. */
static const struct {
	const char *name;
	size_t offset;
} queries__args[] = {
#define QUERIES__ARG(member) {#member, offsetof(struct db_args, member)},
	DB_ARG_LIST(QUERIES__ARG)
#undef QUERIES__ARG
};

static bool
queries__name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool
db_stmt_number(const char *named, char **sql, size_t *offsets, int *n, int max, char *err, size_t errlen)
{
	const char *names[64];
	size_t lens[64], o = 0;
	/* "$n" is at most as long as ":x" plus the digits of max: twice the text is room enough */
	size_t cap = strlen(named) * 2 + 1;
	char *out = malloc(cap);
	char quote = 0;

	if (out == NULL)
		abort();
	*n = 0;
	for (const char *p = named; *p != '\0';) {
		if (quote != 0 || *p == '\'' || *p == '"') { /* literals and quoted names pass as they are */
			quote = quote == 0 ? *p : *p == quote ? 0 : quote;
			out[o++] = *p++;
		} else if (p[0] == ':' && p[1] == ':') { /* a cast */
			out[o++] = *p++;
			out[o++] = *p++;
		} else if (p[0] == ':' && queries__name_char(p[1])) {
			size_t len = 1, k;
			int i;

			while (queries__name_char(p[len]))
				len++;
			for (k = 0; k < sizeof queries__args / sizeof queries__args[0]; k++)
				if (strlen(queries__args[k].name) == len - 1 &&
				    memcmp(queries__args[k].name, p + 1, len - 1) == 0)
					break;
			if (k == sizeof queries__args / sizeof queries__args[0]) {
				snprintf(err, errlen, "argument %.*s is not a member of struct db_args", (int)len, p);
				goto fail;
			}
			for (i = 0; i < *n; i++)
				if (lens[i] == len && memcmp(names[i], p, len) == 0)
					break;
			if (i == *n) {
				if (*n == max || *n == (int)(sizeof names / sizeof names[0])) {
					snprintf(err, errlen, "more than %d arguments", max);
					goto fail;
				}
				names[i] = p;
				lens[i] = len;
				offsets[i] = queries__args[k].offset;
				(*n)++;
			}
			o += (size_t)snprintf(out + o, cap - o, "$%d", i + 1);
			p += len;
		} else if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
			snprintf(err, errlen, "a positional argument (%.3s): name it", p);
			goto fail;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	*sql = out;
	return true;
fail:
	free(out);
	return false;
}
