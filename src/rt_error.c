/* The table that turns an rt_err into what clients see. */
#include "rt_error.h"

static const struct {
	const char *slug;
	const char *title;
	int status;
} rt__errors[RT_ERR__MAX] = {
	[RT_OK] = {"ok", "OK", 200},
	[RT_ERR_NOT_FOUND] = {"not-found", "Not Found", 404},
	[RT_ERR_DEVICE_NOT_FOUND] = {"device-not-found", "Device Not Found", 404},
	[RT_ERR_RELEASE_NOT_FOUND] = {"release-not-found", "Release Not Found", 404},
	[RT_ERR_METHOD_NOT_ALLOWED] = {"method-not-allowed", "Method Not Allowed", 405},
	[RT_ERR_INVALID_PARAMETER] = {"invalid-parameter", "Invalid Parameter", 400},
	[RT_ERR_UNKNOWN_PARAMETER] = {"unknown-parameter", "Unknown Parameter", 400},
	[RT_ERR_INVALID_CURSOR] = {"invalid-cursor", "Invalid Cursor", 400},
	[RT_ERR_BAD_REQUEST] = {"bad-request", "Bad Request", 400},
	[RT_ERR_URI_TOO_LONG] = {"uri-too-long", "URI Too Long", 414},
	[RT_ERR_NOT_ACCEPTABLE] = {"not-acceptable", "Not Acceptable", 406},
	[RT_ERR_DB_UNAVAILABLE] = {"database-unavailable", "Database Unavailable", 503},
	[RT_ERR_INTERNAL] = {"internal-error", "Internal Server Error", 500},
	[RT_ERR_UNAUTHORIZED] = {"unauthorized", "Unauthorized", 401},
	[RT_ERR_INSUFFICIENT_SCOPE] = {"insufficient-scope", "Insufficient Scope", 403},
	[RT_ERR_GONE] = {"gone", "Gone", 410},
	[RT_ERR_PAYLOAD_TOO_LARGE] = {"payload-too-large", "Content Too Large", 413},
	[RT_ERR_UNSUPPORTED_MEDIA_TYPE] = {"unsupported-media-type", "Unsupported Media Type", 415},
	[RT_ERR_UNPROCESSABLE] = {"validation-failed", "Unprocessable Content", 422},
	[RT_ERR_PRECONDITION_FAILED] = {"precondition-failed", "Precondition Failed", 412},
	[RT_ERR_CONFLICT] = {"conflict", "Conflict", 409},
	[RT_ERR_SUBSCRIPTION_NOT_FOUND] = {"subscription-not-found", "Subscription Not Found", 404},
	[RT_ERR_FORBIDDEN] = {"forbidden", "Forbidden", 403},
	[RT_ERR_TOO_MANY_REQUESTS] = {"too-many-requests", "Too Many Requests", 429},
};

const char *
rt_strerror(enum rt_err err)
{
	if ((unsigned)err >= RT_ERR__MAX)
		err = RT_ERR_INTERNAL;
	return rt__errors[err].title;
}

const char *
rt_err_slug(enum rt_err err)
{
	if ((unsigned)err >= RT_ERR__MAX)
		err = RT_ERR_INTERNAL;
	return rt__errors[err].slug;
}

int
rt_err_status(enum rt_err err)
{
	if ((unsigned)err >= RT_ERR__MAX)
		err = RT_ERR_INTERNAL;
	return rt__errors[err].status;
}
