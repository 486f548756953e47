/* fcgi_head_check: hand-built FastCGI openings (FastCGI 1.0 records) and what a worker must make of them. */
#include "check.h"

#include <stdint.h>

#include "fcgi_head.h"

static unsigned char buf[FCGI_HEAD_MAX_BYTES + 4096];
static size_t used;

/* Appends one record: version, type, request id, content, padding (zeros). */
static void
record(unsigned version, unsigned type, unsigned id, const void *content, size_t len, size_t padding)
{
	unsigned char *p = buf + used;

	p[0] = (unsigned char)version;
	p[1] = (unsigned char)type;
	p[2] = (unsigned char)(id >> 8);
	p[3] = (unsigned char)id;
	p[4] = (unsigned char)(len >> 8);
	p[5] = (unsigned char)len;
	p[6] = (unsigned char)padding;
	p[7] = 0;
	if (len > 0)
		memcpy(p + 8, content, len);
	memset(p + 8 + len, 0, padding);
	used += 8 + len + padding;
}

static void
begin(unsigned id, unsigned role)
{
	unsigned char body[8] = {(unsigned char)(role >> 8), (unsigned char)role, 0};

	used = 0;
	record(1, 1, id, body, sizeof body, 0);
}

static enum fcgi_head_verdict
check(void)
{
	const char *why = NULL;
	enum fcgi_head_verdict v = fcgi_head_check(buf, used, &why);

	if (v == FCGI_HEAD_INVALID && why == NULL)
		return (enum fcgi_head_verdict) - 1; /* an invalid opening always says why */
	return v;
}

/* "\x0bREQUEST_URI\x01/" style pairs: 1-byte lengths */
static const char pairs[] = "\x0e"
			    "\x03"
			    "REQUEST_METHOD"
			    "GET"
			    "\x0b"
			    "\x0c"
			    "REQUEST_URI"
			    "/api/regions";

int
main(void)
{
	const char *why;
	unsigned char big[4 + 4 + 3];

	/* what nginx sends: BEGIN, PARAMS (padded to 8), empty PARAMS, empty STDIN */
	begin(1, 1);
	record(1, 4, 1, pairs, sizeof pairs - 1, (8 - (sizeof pairs - 1) % 8) % 8);
	record(1, 4, 1, NULL, 0, 0);
	record(1, 5, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_COMPLETE);
	/* every strict prefix before the empty PARAMS header ends is incomplete, not invalid */
	{
		size_t whole = used - 8; /* without STDIN */

		for (size_t n = 0; n < whole; n++)
			CHECK_INT(fcgi_head_check(buf, n, &why), FCGI_HEAD_INCOMPLETE);
		CHECK_INT(fcgi_head_check(buf, whole, &why), FCGI_HEAD_COMPLETE);
	}
	/* a pair may span two records: the stream is their contents joined */
	begin(7, 1);
	record(1, 4, 7, pairs, 5, 3);
	record(1, 4, 7, pairs + 5, sizeof pairs - 1 - 5, 0);
	record(1, 4, 7, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_COMPLETE);
	/* no parameters at all is well-formed (libfcgi reads an empty stream) */
	begin(1, 1);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_COMPLETE);

	/* The 34-byte killer: BEGIN (16 bytes), then PARAMS whose 4-byte name length says 2 GB. */
	begin(1, 1);
	memcpy(big,
	       "\xff\xff\xff\xff"
	       "\x01"
	       "abc"
	       "\x00\x00",
	       10);
	record(1, 4, 1, big, 10, 0);
	CHECK_INT(used, 34);
	CHECK_INT(check(), FCGI_HEAD_INVALID); /* at once: no need to wait for the end of the stream */
	/* a length within 64 kB before the stream ends: wait for more */
	begin(1, 1);
	record(1, 4, 1,
	       "\x01\x80\x00\x10\x00"
	       "a",
	       6, 2);
	CHECK_INT(check(), FCGI_HEAD_INCOMPLETE);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID); /* ...and it ended 4 kB short */
	/* a value length one byte past what the stream holds */
	begin(1, 1);
	record(1, 4, 1,
	       "\x01\x02"
	       "ab",
	       4, 4);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	/* exactly what the stream holds */
	begin(1, 1);
	record(1, 4, 1,
	       "\x01\x01"
	       "ab",
	       4, 4);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_COMPLETE);
	/* a 4-byte length cut off by the end of the stream */
	begin(1, 1);
	record(1, 4, 1, "\x01\x80\x00", 3, 5);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	/* a 4-byte length that fits: 0x80000001 means 1 */
	begin(1, 1);
	record(1, 4, 1,
	       "\x80\x00\x00\x01\x01"
	       "ab",
	       7, 1);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_COMPLETE);

	/* management records (request id 0) and unknown types never reach libfcgi */
	used = 0;
	record(1, 11, 0, NULL, 0, 0); /* FCGI_UNKNOWN_TYPE-style: libfcgi leaks 64 bytes on these */
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	used = 0;
	record(1, 9, 0, NULL, 0, 0); /* FCGI_GET_VALUES */
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	begin(1, 1);
	record(1, 9, 0, NULL, 0, 0); /* a management record between BEGIN and the parameters */
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	/* wrong version, request id 0, wrong BEGIN length, other roles */
	begin(1, 1);
	buf[0] = 2;
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	begin(0, 1);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	used = 0;
	record(1, 1, 1, "\x00\x01\x00\x00\x00\x00\x00\x00\x00", 9, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	/* BEGIN_REQUEST's padding: libfcgi reads it as records, here a management record (found by fuzz_fcgi) */
	used = 0;
	record(1, 1, 1, "\x00\x01\x00\x00\x00\x00\x00\x00", 8, 8);
	memcpy(buf + 16, "\x01\x09\x00\x00\x00\x00\x00\x00", 8);
	record(1, 4, 1, NULL, 0, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	begin(1, 2); /* authorizer */
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	begin(1, 3); /* filter */
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	/* PARAMS for another request id, STDIN before the parameters end, a second BEGIN */
	begin(1, 1);
	record(1, 4, 2, pairs, sizeof pairs - 1, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	begin(1, 1);
	record(1, 5, 1, "x", 1, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	begin(1, 1);
	record(1, 1, 1, "\x00\x01\x00\x00\x00\x00\x00\x00", 8, 0);
	CHECK_INT(check(), FCGI_HEAD_INVALID);
	/* a partial header is judged as far as it goes */
	begin(1, 1);
	buf[used++] = 1;
	buf[used++] = 5;
	CHECK_INT(check(), FCGI_HEAD_INVALID);

	/* Size: 64 kB of parameters pass, one byte more does not. */
	{
		static unsigned char content[65535];

		memset(content, 'a', sizeof content);
		/* one pair of name 1 byte and a value filling the rest of 65535 + 1 bytes */
		content[0] = 1;
		content[1] = 0x80;
		content[2] = 0;
		content[3] = 0xff;
		begin(1, 1);
		/* a stream of 65535 + 1 bytes: lengths 1 + 4, name 1, value 65530 */
		content[3] = (65530 >> 8) & 0xff;
		content[4] = 65530 & 0xff;
		record(1, 4, 1, content, sizeof content, 0);
		record(1, 4, 1, "a", 1, 7);
		record(1, 4, 1, NULL, 0, 0);
		CHECK_INT(check(), FCGI_HEAD_COMPLETE);
		begin(1, 1);
		content[4] = (65531) & 0xff;
		record(1, 4, 1, content, sizeof content, 0);
		record(1, 4, 1, "aa", 2, 6);
		record(1, 4, 1, NULL, 0, 0);
		CHECK_INT(check(), FCGI_HEAD_INVALID); /* 65537 bytes of parameters */
		/* many tiny records with full padding: the opening grows past FCGI_HEAD_MAX_BYTES */
		begin(1, 1);
		while (used < FCGI_HEAD_MAX_BYTES + 8)
			record(1, 4, 1, "\x00", 1, 255);
		CHECK_INT(check(), FCGI_HEAD_INVALID);
	}
	CHECK_DONE();
}
