/* The handlers every service routes: /metrics (common/metrics.c renders the text) and
 * /healthz. */
#include "http/http.h"
#include "metrics.h"

#include <stdlib.h>

void http_handle_metrics(struct request *r)
{
    size_t len;
    char *text = metrics_render(&len);
    http_respond_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

void http_handle_healthz(struct request *r)
{
    http_respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
