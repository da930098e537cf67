/* The command service's routes. */
#ifndef ORDERLY_COMMAND_ROUTES_H
#define ORDERLY_COMMAND_ROUTES_H

#include "http/http.h"

extern const struct route command_routes[];
extern const size_t command_route_count;

#endif
