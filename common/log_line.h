/* The JSON access line of log_request, built two ways for tests/unit/test_log_line.c, which
 * compares them: straight into text, and through a jansson tree. Both return a malloc'd line
 * without its newline, or NULL where json_dumps fails. */
#ifndef ORDERLY_LOG_LINE_H
#define ORDERLY_LOG_LINE_H

char *log_request_json(const char *ts, const char *service, const char *correlation_id,
                       const char *method, const char *route, int status, double duration_ms,
                       int weight);
char *log_request_json_tree(const char *ts, const char *service, const char *correlation_id,
                            const char *method, const char *route, int status, double duration_ms,
                            int weight);

#endif
