/* GET /v1/views/{name} and /v1/views/{name}/{key...}: the live version of a projection defined
 * in SQL (docs/views.md), a filtered keyset-paginated list or one row by its key. */
#ifndef QUERY_VIEWS_HTTP_H
#define QUERY_VIEWS_HTTP_H

#include "http/http.h"

void views_http_list(struct request *r);
void views_http_row(struct request *r);

#endif
