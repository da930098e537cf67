/* bench/tools/fixed_body: the HTTP half of the GET ceiling, a libmicrohttpd server that answers
 * every request with one fixed JSON body, using the services' own daemon flags. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The body is read once and shared by every response: MHD_RESPMEM_PERSISTENT avoids a copy,
 * so the figure is the daemon's cost, not ours. */
static struct MHD_Response *fixed_response;

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **req_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    /* The first call only announces the headers; answering then would skip a state. */
    if (*req_cls == NULL) {
        *req_cls = conn;
        return MHD_YES;
    }
    /* A body (only when the script is pointed at a POST) is read and ignored. */
    if (*upload_len > 0) {
        *upload_len = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, fixed_response);
}

static char *read_body(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    *len = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT BODY_FILE THREADS\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    char *body = read_body(argv[2], &len);
    if (!body) {
        perror(argv[2]);
        return 2;
    }
    fixed_response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(fixed_response, "Content-Type", "application/json");
    /* Blocked before the daemon's threads start, so they inherit the mask and sigwait below
     * is the only place the signal lands. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    unsigned int threads = (unsigned int)strtoul(argv[3], NULL, 10);
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)strtoul(argv[1], NULL, 10), NULL, NULL, answer, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, 4096U, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                         MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 2U, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on port %s\n", argv[1]);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(fixed_response);
    free(body);
    return 0;
}
