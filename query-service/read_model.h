/* The name of the query service's one projection: the key of its checkpoint row in projections,
 * spelled here once for every statement and caller, and given to the rebuild's SQL functions. */
#ifndef QUERY_READ_MODEL_H
#define QUERY_READ_MODEL_H

#define READ_MODEL_NAME "read_model"

#endif
