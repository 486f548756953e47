/* XFU's file formats written from romtrack's data: latest.yml (`romtrack export`, GET /api/xfu/latest.yml),
 * devices.yml (GET /api/xfu/devices.yml) and the RSS 2.0 feed of a device (GET /api/xfu/rss/{codename}.xml).
 * Each writer reads the rows of its statement (DB_STMT_XFU_ENTRIES, DB_STMT_XFU_DEVICES) and hands its bytes to
 * a function, so that the CLI and the API share one writer per format. */
#ifndef EXPORT_H
#define EXPORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

enum exp_format { EXP_YAML, EXP_JSON };

/* Where a writer's bytes go; false when they could not be written (the writer then stops). */
typedef bool (*exp_write_fn)(void *data, const char *bytes, size_t len);

/* latest.yml, written row by row (rows of DB_STMT_XFU_ENTRIES): one entry per release and display name, with
 * XFU's fields in XFU's order (android, branch, codename, date, link, md5, method, name, size, version). A dump
 * (all) adds the fields romtrack's importer reads back (changelog, filename, incremental, declared, mirrors), so
 * that it can be imported elsewhere. exp_latest_end finishes the document and frees the writer; it returns
 * whether every part was written, else false with the reason in err. */
struct exp_latest;
struct exp_latest *exp_latest_begin(enum exp_format format, bool all, exp_write_fn write, void *data);
void exp_latest_row(struct exp_latest *w, const PGresult *res, int row);
bool exp_latest_end(struct exp_latest *w, char *err, size_t errlen);

/* devices.yml from the rows of DB_STMT_XFU_DEVICES: "codename:" and the list of its listed name and MIUI name. */
bool exp_devices(const PGresult *res, exp_write_fn write, void *data, char *err, size_t errlen);

/* What an RSS feed says of itself: the device's name without its region ("Redmi K40"), the codename its entries'
 * codenames start with (XFU's codename before the first "_", which its items name), and the link of its channel
 * (an absolute URL). */
struct exp_rss_channel {
	const char *device_name;
	const char *codename;
	const char *link;
};

/* The RSS 2.0 feed of a device from its rows of DB_STMT_XFU_FEED_ENTRIES, in the shape of XFU's rss/<codename>.xml:
 * an item per entry with XFU's title, link, HTML description and pubDate. */
bool exp_rss(const PGresult *res, const struct exp_rss_channel *channel, exp_write_fn write, void *data);

/* A size as XFU writes it (Python humanize's naturalsize): "1.3 GB", "846.8 MB", "4.5 kB", "484 Bytes". */
void exp_format_size(long long bytes, char *out, size_t outlen);

#endif
