/* Request bodies: reading one within the size limit, its Content-Type against the route's list, JSON with
 * line and column, the 422 list of broken rules, and If-Match for handlers. */
#ifndef BODY_H
#define BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "http.h"
#include "router.h"

/* Whether a body declared at content_length bytes (-1: not declared) is over limit bytes: then
 * 413 before a byte of it is read. */
bool body_declared_too_large(long long content_length, size_t limit);

/* The entry of accepts that a Content-Type value names: type/subtype compared without case, blanks
 * and parameters after ';' allowed, but a charset other than utf-8 names nothing (JSON, YAML and
 * the pages are UTF-8). NULL when none (or content_type is NULL). */
const char *body_media_type(const char *content_type, const char *const *accepts);
/* Whether the media type is JSON: application/json or a structured +json type (merge-patch+json). */
bool body_is_json_type(const char *media_type);

/* Parses bytes as one JSON text (any value; duplicate member names refused). NULL after a 400 in res
 * whose detail says what and where, with extension members line and column (from 1, in characters)
 * of the last character read, the end of the offending token (column 0: before the first), and
 * position, the bytes read. The value lives until the arena is reset. */
json_t *body_parse_json(struct http_response *res, struct arena *a, const char *bytes, size_t len);

/*
 * The first half of a body's checks, before the authorization (app.c): for a route with accepts,
 * a declared length over limit gives 413; then the body is read whole (req->read_body): over limit
 * 413, a length other than CONTENT_LENGTH 400, a broken stream no answer at all (the adapter drops
 * the connection). nginx has read the whole body before it passes the request on, and sends it
 * anyway: reading it costs what draining it would. False after the answer is set in res.
 */
bool body_read(const struct route *route, struct http_request *req, struct http_response *res, size_t limit);
/* The second half, after the authorization: a body required and missing 400; its Content-Type not
 * in the route's accepts 415 (listing them, with Accept-Post or Accept-Patch); JSON that does not
 * parse 400. Sets req->body_type and, for JSON, req->body_json. False after the answer in res. */
bool body_accept(const struct route *route, struct http_request *req, struct http_response *res);

/* A 422 answer: every rule a body breaks, as {"pointer": JSON Pointer (RFC 6901), "detail": "..."}. */
struct body_errors;
struct body_errors *body_errors_new(struct arena *a);
void body_error(struct body_errors *e, const char *pointer, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t body_error_count(const struct body_errors *e);
/* Answers 422 application/problem+json with the list as member "errors" (in the order added). */
void body_errors_send(struct body_errors *e, struct http_response *res);
/* A member's or an item's pointer under parent ("" is the whole body): "/data" + 3 -> "/data/3";
 * '~' and '/' in a name are escaped as ~0 and ~1. */
const char *body_pointer(struct arena *a, const char *parent, const char *member);
const char *body_pointer_index(struct arena *a, const char *parent, size_t index);
/* Adds an error for each member of object whose name is not in known (NULL-terminated): unknown
 * members are errors, not ignored. */
void body_unknown_members(struct body_errors *e, const char *pointer, json_t *object, const char *const *known);

/* For a handler of a write on an existing resource: false after a 412 in res when the request has
 * an If-Match that does not hold for the resource's current strong ETag (NULL: no such resource).
 * See http_if_match. */
bool body_if_match(const struct http_request *req, struct http_response *res, const char *current_etag);

#endif
