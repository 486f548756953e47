/* The opening of a FastCGI connection (BEGIN_REQUEST, then PARAMS to its empty record), checked before libfcgi reads
 * it. */
#ifndef FCGI_HEAD_H
#define FCGI_HEAD_H

#include <stddef.h>

/* Name-value bytes a request may carry (nginx sends a few kB). */
#define FCGI_HEAD_MAX_PARAMS 65536
/* The whole opening, with record headers and padding: what a worker peeks at most. */
#define FCGI_HEAD_MAX_BYTES (FCGI_HEAD_MAX_PARAMS + 16384)

enum fcgi_head_verdict {
	FCGI_HEAD_COMPLETE,   /* well-formed, and every byte libfcgi's accept reads is in buf */
	FCGI_HEAD_INCOMPLETE, /* well-formed so far: more bytes are needed */
	FCGI_HEAD_INVALID,    /* *why says what is wrong */
};

/*
 * Checks the first len bytes a peer sent, as libfcgi's FCGX_Accept_r would read them:
 * version 1 records; first an unpadded BEGIN_REQUEST for the responder role with a request id
 * other than 0 (so never a management record, which libfcgi answers and leaks);
 * then only PARAMS records of that id up to the empty one, whose content holds whole
 * name-value pairs, each length within what the stream really holds, at most
 * FCGI_HEAD_MAX_PARAMS bytes in all. An opening longer than FCGI_HEAD_MAX_BYTES is invalid.
 * Pure: reads buf only.
 */
enum fcgi_head_verdict fcgi_head_check(const unsigned char *buf, size_t len, const char **why);

#endif
