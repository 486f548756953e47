/* The statement table: every statement's :named arguments are members of struct db_args, none is
 * positional, and the numbering leaves casts and literals alone. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "queries.h"

/* Distinct ":name" arguments in a text, counted here by its own scan: a ':' after neither ':' nor a
 * letter, outside quotes, before a lower-case letter. */
static int
count_names(const char *sql)
{
	const char *seen[64];
	size_t lens[64];
	int n = 0;
	char quote = 0;

	for (const char *p = sql; *p; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == ':' && p[1] >= 'a' && p[1] <= 'z' && (p == sql || p[-1] != ':')) {
			size_t len = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
			int i;

			for (i = 0; i < n; i++)
				if (lens[i] == len && strncmp(seen[i], p + 1, len) == 0)
					break;
			if (i == n && n < 64) {
				seen[n] = p + 1;
				lens[n++] = len;
			}
		}
	}
	return n;
}

int
main(void)
{
	size_t offsets[16];
	char *sql, err[256];
	int n;

	/* the rule, on a text written for it */
	CHECK(db_stmt_number("SELECT 'a:b', x::text, :codename::text, \":q\", :limit, :codename", &sql, offsets, &n, 16,
			     err, sizeof err));
	CHECK_STR(sql, "SELECT 'a:b', x::text, $1::text, \":q\", $2, $1");
	CHECK_INT(n, 2);
	CHECK(offsets[0] == offsetof(struct db_args, codename));
	CHECK(offsets[1] == offsetof(struct db_args, limit));
	free(sql);
	CHECK(!db_stmt_number("SELECT :nosuch", &sql, offsets, &n, 16, err, sizeof err));
	CHECK(strstr(err, ":nosuch") != NULL);
	CHECK(!db_stmt_number("SELECT $1::text", &sql, offsets, &n, 16, err, sizeof err));
	CHECK(!db_stmt_number("SELECT :q, :limit", &sql, offsets, &n, 1, err, sizeof err));

	/* every statement of the table */
	for (int i = 0; i < DB_STMT__MAX; i++) {
		CHECK(db_stmts[i].name != NULL && db_stmts[i].sql != NULL);
		if (!db_stmt_number(db_stmts[i].sql, &sql, offsets, &n, 16, err, sizeof err)) {
			CHECK_STR(err, "");
			continue;
		}
		CHECK_INT(n, count_names(db_stmts[i].sql));
		CHECK_INT(count_names(sql), 0); /* every name numbered */
		for (int k = 0; k < n; k++)
			CHECK(offsets[k] < sizeof(struct db_args));
		free(sql);
	}
	/* the column lists: the select list has one column per enum value */
	{
		static const char list[] = DB_SELECT_LIST(DB_DEVICE_COLUMNS);
		int commas = 0, depth = 0;

		for (const char *p = list; *p; p++) {
			depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
			commas += *p == ',' && depth == 0;
		}
		CHECK_INT(commas + 1, DEVCOL__MAX);
	}
	CHECK_DONE();
}
