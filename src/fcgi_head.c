/* The opening of a FastCGI connection, checked record by record before libfcgi reads it. */
#include "fcgi_head.h"

#include <fastcgi.h>
#include <stdbool.h>
#include <stdint.h>

struct fcgi__record {
	unsigned version, type, request_id;
	size_t content, padding;
};

static struct fcgi__record
fcgi__record_at(const unsigned char *p)
{
	return (struct fcgi__record){
		.version = p[0],
		.type = p[1],
		.request_id = (unsigned)p[2] << 8 | p[3],
		.content = (size_t)p[4] << 8 | p[5],
		.padding = p[6],
	};
}

/* Reads the content of the PARAMS records that start at buf[first] as one stream. */
struct fcgi__stream {
	const unsigned char *buf;
	size_t pos;  /* next content byte */
	size_t left; /* content bytes left in the current record */
	size_t next; /* where the next record starts */
};

static void
fcgi__stream_advance(struct fcgi__stream *s)
{
	/* every record up to the empty one was checked to be complete */
	while (s->left == 0) {
		struct fcgi__record r = fcgi__record_at(s->buf + s->next);

		s->pos = s->next + FCGI_HEADER_LEN;
		s->left = r.content;
		s->next = s->pos + r.content + r.padding;
		if (r.content == 0)
			return;
	}
}

/* Consumes n content bytes (n <= what is left in the stream), returning the last one. */
static unsigned
fcgi__stream_take(struct fcgi__stream *s, size_t n)
{
	unsigned last = 0;

	while (n > 0) {
		size_t k;

		fcgi__stream_advance(s);
		k = n < s->left ? n : s->left;
		s->pos += k;
		s->left -= k;
		n -= k;
		last = s->buf[s->pos - 1];
	}
	return last;
}

/* One length of a name-value pair: 1 byte, or 4 with the high bit set (FastCGI 1.0, 3.4).
 * False when the stream has fewer bytes left than the length takes. */
static bool
fcgi__pair_length(struct fcgi__stream *s, size_t *left, size_t *len)
{
	unsigned b;

	if (*left < 1)
		return false;
	b = fcgi__stream_take(s, 1);
	*left -= 1;
	if ((b & 0x80) == 0) {
		*len = b;
		return true;
	}
	if (*left < 3)
		return false;
	*len = (size_t)(b & 0x7f) << 24;
	*len |= (size_t)fcgi__stream_take(s, 1) << 16;
	*len |= (size_t)fcgi__stream_take(s, 1) << 8;
	*len |= (size_t)fcgi__stream_take(s, 1);
	*left -= 3;
	return true;
}

/*
 * The pairs of the params stream that starts with the record at first, of which avail
 * bytes are here. final: avail is the whole stream, and each pair must fit in it. Else
 * the stream goes on: a pair may be cut off at the end, but no length may reach past
 * FCGI_HEAD_MAX_PARAMS, so that an impossible length is refused before the rest arrives.
 */
static bool
fcgi__pairs_ok(const unsigned char *buf, size_t first, size_t avail, bool final, const char **why)
{
	struct fcgi__stream s = {.buf = buf, .next = first};
	size_t left = avail, used = 0;

	while (left > 0) {
		size_t name_len, value_len, limit, start = left;

		if (!fcgi__pair_length(&s, &left, &name_len) || !fcgi__pair_length(&s, &left, &value_len)) {
			if (!final)
				return true;
			*why = "a parameter's length is cut off";
			return false;
		}
		used += start - left;
		limit = final ? left : FCGI_HEAD_MAX_PARAMS - used;
		if (name_len > limit || value_len > limit - name_len) {
			*why = "a parameter is longer than the parameters sent";
			return false;
		}
		if (name_len + value_len > left)
			return true; /* not final: the rest is still to come */
		fcgi__stream_take(&s, name_len + value_len);
		left -= name_len + value_len;
		used += name_len + value_len;
	}
	return true;
}

static enum fcgi_head_verdict
fcgi__invalid(const char **why, const char *what)
{
	*why = what;
	return FCGI_HEAD_INVALID;
}

enum fcgi_head_verdict
fcgi_head_check(const unsigned char *buf, size_t len, const char **why)
{
	struct fcgi__record begin;
	size_t off, params_start, params_total = 0, params_here = 0;

	*why = NULL;
	if (len >= 1 && buf[0] != FCGI_VERSION_1)
		return fcgi__invalid(why, "not FastCGI version 1");
	if (len >= 2 && buf[1] != FCGI_BEGIN_REQUEST)
		return fcgi__invalid(why, "the first record is not BEGIN_REQUEST");
	if (len < FCGI_HEADER_LEN)
		return FCGI_HEAD_INCOMPLETE;
	begin = fcgi__record_at(buf);
	if (begin.request_id == 0)
		return fcgi__invalid(why, "BEGIN_REQUEST with request id 0");
	if (begin.content != sizeof(FCGI_BeginRequestBody))
		return fcgi__invalid(why, "BEGIN_REQUEST of the wrong length");
	/* libfcgi drops BEGIN_REQUEST's padding unread and takes its bytes for the next records */
	if (begin.padding != 0)
		return fcgi__invalid(why, "BEGIN_REQUEST with padding");
	if (len < FCGI_HEADER_LEN + 2)
		return FCGI_HEAD_INCOMPLETE;
	if (((unsigned)buf[FCGI_HEADER_LEN] << 8 | buf[FCGI_HEADER_LEN + 1]) != FCGI_RESPONDER)
		return fcgi__invalid(why, "a role other than responder");
	off = FCGI_HEADER_LEN + begin.content + begin.padding;
	params_start = off;
	for (;;) {
		if (off > FCGI_HEAD_MAX_BYTES - FCGI_HEADER_LEN)
			return fcgi__invalid(why, "the parameters take too many bytes");
		if (len < off + FCGI_HEADER_LEN) {
			/* what there is of the next header must already fit */
			if (len > off && buf[off] != FCGI_VERSION_1)
				return fcgi__invalid(why, "not FastCGI version 1");
			if (len > off + 1 && buf[off + 1] != FCGI_PARAMS)
				return fcgi__invalid(why, "a record other than PARAMS before the parameters end");
			break;
		}
		struct fcgi__record r = fcgi__record_at(buf + off);
		if (r.version != FCGI_VERSION_1)
			return fcgi__invalid(why, "not FastCGI version 1");
		if (r.type != FCGI_PARAMS)
			return fcgi__invalid(why, "a record other than PARAMS before the parameters end");
		if (r.request_id != begin.request_id)
			return fcgi__invalid(why, "a PARAMS record for another request id");
		if (r.content == 0) {
			/* The empty record: libfcgi reads its header, not its padding. */
			return fcgi__pairs_ok(buf, params_start, params_total, true, why) ? FCGI_HEAD_COMPLETE
											  : FCGI_HEAD_INVALID;
		}
		params_total += r.content;
		if (params_total > FCGI_HEAD_MAX_PARAMS)
			return fcgi__invalid(why, "more parameters than a request may carry");
		off += FCGI_HEADER_LEN + r.content + r.padding;
		if (off > FCGI_HEAD_MAX_BYTES)
			return fcgi__invalid(why, "the parameters take too many bytes");
		if (off <= len)
			params_here = params_total; /* this record is here whole */
	}
	/* Incomplete: what is here of the parameters must be the start of a valid stream. */
	return fcgi__pairs_ok(buf, params_start, params_here, false, why) ? FCGI_HEAD_INCOMPLETE : FCGI_HEAD_INVALID;
}
