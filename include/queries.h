/* Every SQL statement the API runs, by name: prepared once per connection. */
#ifndef QUERIES_H
#define QUERIES_H

enum db_stmt {
	DB_STMT_PING,
	DB_STMT_DEVICE_LIST,
	DB_STMT_DEVICE_GET,
	DB_STMT_DEVICE_EXISTS,
	DB_STMT_DEVICE_RELEASES,
	DB_STMT__MAX
};

struct db_stmt_def {
	const char *name;
	const char *sql;
	int nparams;
};

extern const struct db_stmt_def db_stmts[DB_STMT__MAX];

/* Column order of the rows DB_STMT_DEVICE_LIST and DB_STMT_DEVICE_GET return. */
enum { DEVCOL_DEVICE, DEVCOL_VARIANT, DEVCOL_REGION, DEVCOL_NAMES };

/* Column order of release rows. */
enum {
	RELCOL_ID, RELCOL_DEVICE, RELCOL_VARIANT, RELCOL_REGION, RELCOL_NAMES, RELCOL_VERSION,
	RELCOL_BRANCH, RELCOL_TYPE, RELCOL_ANDROID, RELCOL_SIZE, RELCOL_MD5, RELCOL_FILENAME,
	RELCOL_DATE, RELCOL_CHANGELOG, RELCOL_LINKS, RELCOL_SORT_DATE, RELCOL_VERSION_SORT
};

#endif
