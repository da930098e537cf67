/* Parked requests (http.h): a handler suspends its request's connection and answers later, once
 * http_unpark resumes it, as the live feed's streams pause and resume. */
#include "http/http.h"

#include <microhttpd.h>

/* libmicrohttpd allows suspending only from inside the access handler, which is where handlers
 * run; the server then queues no answer (server.c, access_handler). */
void http_park(struct request *r)
{
    r->parked = true;
    MHD_suspend_connection(r->conn);
}

void http_unpark(struct request *r)
{
    MHD_resume_connection(r->conn);
}
