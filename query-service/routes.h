/* The query service's route table (handlers live in routes.c). */
#ifndef QUERY_ROUTES_H
#define QUERY_ROUTES_H

#include "http/http.h"
#include <stddef.h>

const struct route *routes_table(size_t *count);

#endif
