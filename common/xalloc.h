/* Allocation that aborts on OOM, so callers never check for NULL. */
#ifndef ORDERLY_XALLOC_H
#define ORDERLY_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
