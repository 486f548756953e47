/* One error enum for the whole program, with its strings and HTTP statuses. */
#ifndef RT_ERROR_H
#define RT_ERROR_H

enum rt_err {
	RT_OK = 0,
	RT_ERR_NOT_FOUND, /* no such route */
	RT_ERR_DEVICE_NOT_FOUND,
	RT_ERR_RELEASE_NOT_FOUND,
	RT_ERR_METHOD_NOT_ALLOWED,
	RT_ERR_INVALID_PARAMETER,
	RT_ERR_UNKNOWN_PARAMETER,
	RT_ERR_INVALID_CURSOR,
	RT_ERR_BAD_REQUEST, /* malformed encoding, invalid UTF-8, NUL */
	RT_ERR_URI_TOO_LONG,
	RT_ERR_NOT_ACCEPTABLE,
	RT_ERR_DB_UNAVAILABLE,
	RT_ERR_INTERNAL,
	RT_ERR_UNAUTHORIZED,           /* no token, or not a valid one (401) */
	RT_ERR_INSUFFICIENT_SCOPE,     /* a valid token without the scope the request needs (403) */
	RT_ERR_GONE,                   /* a withdrawn release */
	RT_ERR_PAYLOAD_TOO_LARGE,      /* 413: a body over max_body_kb */
	RT_ERR_UNSUPPORTED_MEDIA_TYPE, /* 415: a Content-Type the route does not take */
	RT_ERR_UNPROCESSABLE,          /* 422: a well-formed body that breaks the route's rules */
	RT_ERR_PRECONDITION_FAILED,    /* 412: If-Match names another version */
	RT_ERR_CONFLICT,               /* 409: the state of the resource forbids it (restore a live release) */
	RT_ERR_SUBSCRIPTION_NOT_FOUND, /* 404: no subscription of the token's with that id */
	RT_ERR_FORBIDDEN,              /* 403: not for this client (/metrics outside metrics_allow_networks) */
	RT_ERR_TOO_MANY_REQUESTS,      /* 429: the token used up its writes (write_limit_per_minute) */
	RT_ERR__MAX
};

/* Short human sentence ("Not Found"), used as the problem title. */
const char *rt_strerror(enum rt_err err);
/* Slug for the problem type URI: "urn:romtrack:problem:<slug>". */
const char *rt_err_slug(enum rt_err err);
/* HTTP status a client sees for this error. */
int rt_err_status(enum rt_err err);

#endif
