/* The application: turns one plain HTTP request into a response (routing, validation, handlers). */
#ifndef APP_H
#define APP_H

#include "db.h"
#include "http.h"

/* Fills res for req. Everything it allocates lives in req->arena. */
void app_handle(struct db *db, struct http_request *req, struct http_response *res);

#endif
