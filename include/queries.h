/* Every SQL statement the API runs, by name: prepared once per connection. */
#ifndef QUERIES_H
#define QUERIES_H

enum db_stmt {
	DB_STMT_PING,
	DB_STMT_DEVICE_LIST,
	DB_STMT_DEVICE_GET,
	DB_STMT_DEVICE_EXISTS,
	DB_STMT_DEVICE_RELEASES,
	DB_STMT_DEVICE_RELEASES_UNFILTERED,
	DB_STMT_DEVICE_VERSION,
	DB_STMT_DEVICE_LATEST,
	DB_STMT_DEVICE_UPDATES,
	DB_STMT_DEVICE_KNOWS_VERSION,
	DB_STMT_RELEASES,
	DB_STMT_RELEASES_UNFILTERED,
	DB_STMT_RELEASES_LATEST,
	DB_STMT_RELEASE_BY_ID,
	DB_STMT_RELEASE_BY_FILENAME,
	DB_STMT_REGIONS,
	DB_STMT_BRANCHES,
	DB_STMT_DATA_VERSION,
	DB_STMT__MAX
};

struct db_stmt_def {
	const char *name;
	const char *sql;
	int nparams;
};

extern const struct db_stmt_def db_stmts[DB_STMT__MAX];

/* The channel on which every change of the data announces its new data version
 * (sql/005_data_version_notify.sql); what DB_STMT_DATA_VERSION returns. */
#define DB_DATA_VERSION_CHANNEL "romtrack_data_version"

/* The columns of a release row (RELCOL_*), for the benchmark's design ceiling. */
extern const char db_release_columns[];

/* Column order of the rows DB_STMT_DEVICE_LIST and DB_STMT_DEVICE_GET return. */
enum { DEVCOL_DEVICE, DEVCOL_VARIANT, DEVCOL_REGION, DEVCOL_NAMES };

/* Column order of release rows. */
enum {
	RELCOL_ID, RELCOL_DEVICE, RELCOL_VARIANT, RELCOL_REGION, RELCOL_NAMES, RELCOL_VERSION,
	RELCOL_BRANCH, RELCOL_TYPE, RELCOL_ANDROID, RELCOL_SIZE, RELCOL_MD5, RELCOL_FILENAME,
	RELCOL_DATE, RELCOL_CHANGELOG, RELCOL_LINKS, RELCOL_INC_FROM, RELCOL_INC_TO,
	RELCOL_INC_FILENAME, RELCOL_INC_URL, RELCOL_WARNINGS, RELCOL_SORT_DATE, RELCOL_VERSION_SORT,
	RELCOL_MODIFIED
};

/* Columns of DB_STMT_REGIONS and DB_STMT_BRANCHES. */
enum { ENUMCOL_VALUE, ENUMCOL_DEVICES, ENUMCOL_RELEASES };

#endif
