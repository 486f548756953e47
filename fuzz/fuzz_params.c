/* Fuzzes query parameter validation (params.c) over a request built from the input. */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "params.h"

/* A request for "/x?query", decoded as the adapter's caller does; false when the URI is refused. */
static bool
fuzz__request(struct http_request *req, const char *query)
{
	const char *detail;

	memset(req, 0, sizeof *req);
	req->arena = fuzz_arena();
	req->method = "GET";
	req->uri = arena_printf(fuzz_arena(), "/x?%s", query);
	return http_parse_uri(req, &detail) == RT_OK;
}

/* The problem a client would get: JSON whose detail is the error's, intact. */
static void
fuzz__problem(const struct params_error *perr)
{
	struct http_response res = {0};
	json_t *j, *detail;

	FUZZ_CHECK(perr->err == RT_ERR_UNKNOWN_PARAMETER || perr->err == RT_ERR_INVALID_PARAMETER ||
		   perr->err == RT_ERR_INVALID_CURSOR);
	FUZZ_CHECK(perr->detail != NULL && perr->parameter != NULL);
	http_problem(&res, fuzz_arena(), perr->err, perr->detail, perr->parameter);
	FUZZ_CHECK(res.status == 400 && res.body != NULL);
	j = json_loads(res.body, 0, NULL);
	FUZZ_CHECK(j != NULL);
	detail = json_object_get(j, "detail");
	FUZZ_CHECK(json_is_string(detail) && strcmp(json_string_value(detail), perr->detail) == 0);
	FUZZ_CHECK(json_is_string(json_object_get(j, "parameter")));
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	struct params p, again;
	struct params_error perr = {0};
	unsigned allowed = (1u << PARAM__MAX) - 1, required = 0;
	const char *query;

	/* the first two bytes choose the parameters the route allows, the rest is the query */
	if (size >= 2) {
		allowed &= ~((unsigned)data[0] | (unsigned)data[1] << 8);
		/* the updates route's required parameter, when the first bit says so */
		required = (data[0] & 1) ? allowed & PARAM_BIT(PARAM_CURRENT) : 0;
		data += 2;
		size -= 2;
	}
	query = fuzz_string(data, size);
	/* the validators alone, on the raw text */
	if (params_version_valid(query))
		FUZZ_CHECK(strlen(query) >= 1 && strlen(query) <= 64);
	if (params_codename_valid(query))
		FUZZ_CHECK(strlen(query) >= 1 && strlen(query) <= 64 &&
			   strspn(query, "_0123456789abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(query));
	if (params_date_valid(query))
		FUZZ_CHECK(strlen(query) == 10);

	if (!fuzz__request(&req, query))
		goto out;
	if (!params_parse(&req, allowed, required, &p, &perr)) {
		fuzz__problem(&perr);
		goto out;
	}
	FUZZ_CHECK(p.limit >= 1 && p.limit <= PARAM_LIMIT_MAX);
	for (int id = 0; id < PARAM__MAX; id++) {
		FUZZ_CHECK(p.value[id] == NULL || (allowed & PARAM_BIT(id)));
		FUZZ_CHECK(p.value[id] != NULL || !(required & PARAM_BIT(id)));
	}
	if (p.value[PARAM_CODENAME] != NULL) {
		const char *arr = params_codename_array(&p, fuzz_arena());

		FUZZ_CHECK(arr[0] == '{' && arr[strlen(arr) - 1] == '}' && strpbrk(arr, "\"\\ ") == NULL);
	}
	(void)params_cacheable(&p);
	/* the filters as a next link writes them are read back as the same filters */
	{
		const char *filters = params_filter_query(&p, fuzz_arena());

		FUZZ_CHECK(fuzz__request(&req, filters));
		FUZZ_CHECK(params_parse(&req, allowed, required, &again, &perr));
		for (int id = 0; id < PARAM__MAX; id++) {
			if (id == PARAM_LIMIT || id == PARAM_CURSOR)
				continue;
			FUZZ_CHECK((p.value[id] == NULL) == (again.value[id] == NULL));
			FUZZ_CHECK(p.value[id] == NULL || strcmp(p.value[id], again.value[id]) == 0);
		}
	}
out:
	arena_reset(fuzz_arena());
	return 0;
}
