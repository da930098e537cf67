/* Strict decimal integers for request input. strtoll alone would accept " 7", "+7", "-0" and
 * "7abc", and caps an overflow at LLONG_MAX: both are refused here. */
#include "numparse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool numparse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s || s[strspn(s, "0123456789")] != '\0')
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end != '\0' || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}
