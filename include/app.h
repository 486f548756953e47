/* The application: turns one plain HTTP request into a response (routing, validation, handlers). */
#ifndef APP_H
#define APP_H

#include "config.h"
#include "db.h"
#include "http.h"

/* Once per worker: what the handlers read from the configuration. */
void app_init(const struct cfg *cfg);
void app_cleanup(void);
/* Fills res for req. Everything it allocates lives in req->arena. */
void app_handle(struct db *db, struct http_request *req, struct http_response *res);

#endif
