/* The JSON writer: commas and nesting, escaping, raw values; jansson reads back what it wrote. */
#include <jansson.h>

#include "check.h"

#include "arena.h"
#include "json_writer.h"

int
main(void)
{
	struct arena *a = arena_new();
	struct jw *w = jw_new(a);
	json_error_t error;
	json_t *doc;
	size_t len;
	char big[70000];

	/* an object with every kind of value, nested containers and a raw array */
	jw_object_begin(w);
	jw_key(w, "data");
	jw_array_begin(w);
	jw_int(w, 1);
	jw_int(w, -9007199254740993LL);
	jw_null(w);
	jw_string(w, "plain");
	jw_string(w, NULL);
	jw_object_begin(w);
	jw_object_end(w);
	jw_array_begin(w);
	jw_array_end(w);
	jw_raw(w, "[\"a\", \"b\"]");
	jw_array_end(w);
	jw_key(w, "next");
	jw_string(w, "/api/x?limit=1&cursor=abc");
	jw_object_end(w);
	CHECK_STR(jw_text(w, &len), "{\"data\":[1,-9007199254740993,null,\"plain\",null,{},[],[\"a\", \"b\"]],"
				    "\"next\":\"/api/x?limit=1&cursor=abc\"}");
	CHECK(len == strlen(jw_text(w, NULL)));

	/* escaping: quote, backslash, the named controls, other controls as \u00XX; UTF-8 as is */
	w = jw_new(a);
	jw_array_begin(w);
	jw_string(w, "say \"hi\"\\ \b\f\n\r\t \x01\x1f end");
	jw_string(w, "Xiaomi 13 Ультра 小米");
	jw_string(w, "");
	jw_array_end(w);
	CHECK_STR(jw_text(w, NULL),
		  "[\"say \\\"hi\\\"\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f end\",\"Xiaomi 13 Ультра 小米\",\"\"]");
	doc = json_loads(jw_text(w, NULL), 0, &error);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_array_get(doc, 0)), "say \"hi\"\\ \b\f\n\r\t \x01\x1f end");
	CHECK_STR(json_string_value(json_array_get(doc, 1)), "Xiaomi 13 Ультра 小米");
	json_decref(doc);

	/* a key is escaped too, and a document far larger than the first buffer grows it */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	w = jw_new(a);
	jw_object_begin(w);
	jw_key(w, "a\"b");
	jw_string(w, big);
	jw_key(w, "n");
	jw_int(w, 0);
	jw_object_end(w);
	doc = json_loads(jw_text(w, &len), 0, &error);
	CHECK(doc != NULL && len == sizeof big - 1 + 17); /* {"a\"b":"…","n":0} */
	CHECK(strlen(json_string_value(json_object_get(doc, "a\"b"))) == sizeof big - 1);
	CHECK(json_integer_value(json_object_get(doc, "n")) == 0);
	json_decref(doc);

	arena_free(a); /* frees every writer's buffer (LeakSanitizer checks) */
	CHECK_DONE();
}
