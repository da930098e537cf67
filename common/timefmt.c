/* RFC 3339 formatting and parsing of epoch-millisecond timestamps (UTC output only).
 * Parsing is strict: fixed-width fields, ranges checked, no locale, no strptime. */
#include "timefmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Floor division so instants before 1970 keep a non-negative millisecond part. Instants outside
 * years 0000-9999 are clamped: RFC 3339 cannot print them, and the modulo below only tells the
 * compiler each field's width. */
void timefmt_rfc3339(int64_t ms, char out[TIMEFMT_LEN])
{
    const int64_t min_ms = -62167219200000LL; /* 0000-01-01T00:00:00.000Z */
    const int64_t max_ms = 253402300799999LL; /* 9999-12-31T23:59:59.999Z */
    if (ms < min_ms)
        ms = min_ms;
    if (ms > max_ms)
        ms = max_ms;
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, TIMEFMT_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u, (unsigned)rem % 1000u);
}

/* Reads exactly n digits; false if any is not a digit. */
static bool timefmt_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int timefmt_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses "YYYY-MM-DD" at s into tm (date part only); false if malformed or out of range. */
static bool timefmt_date_part(const char *s, struct tm *tm)
{
    int y, mo, d;
    if (!timefmt_digits(s, 4, &y) || s[4] != '-' || !timefmt_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !timefmt_digits(s + 8, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > timefmt_days_in_month(y, mo))
        return false;
    memset(tm, 0, sizeof *tm);
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    return true;
}

/* Parses "HH:MM:SS" into tm. Second 60 is RFC 3339's leap second; timegm folds it forward. */
static bool timefmt_time_part(const char *s, struct tm *tm)
{
    int h, mi, sec;
    if (!timefmt_digits(s, 2, &h) || s[2] != ':' || !timefmt_digits(s + 3, 2, &mi) || s[5] != ':' ||
        !timefmt_digits(s + 6, 2, &sec))
        return false;
    if (h > 23 || mi > 59 || sec > 60)
        return false;
    tm->tm_hour = h;
    tm->tm_min = mi;
    tm->tm_sec = sec;
    return true;
}

/* Parses an optional ".digits" at *p into milliseconds, truncating past the third digit. */
static bool timefmt_fraction(const char **p, int *ms_out)
{
    const char *s = *p;
    *ms_out = 0;
    if (*s != '.')
        return true;
    s++;
    if (*s < '0' || *s > '9')
        return false;
    int ms = 0, n = 0;
    for (; *s >= '0' && *s <= '9'; s++, n++) {
        if (n < 3)
            ms = ms * 10 + (*s - '0');
    }
    for (; n < 3; n++)
        ms *= 10;
    *ms_out = ms;
    *p = s;
    return true;
}

/* Parses "Z" or "±HH:MM" (the whole rest of the string) into seconds east of UTC. */
static bool timefmt_offset(const char *s, int64_t *off_secs)
{
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *off_secs = 0;
        return true;
    }
    if (s[0] != '+' && s[0] != '-')
        return false;
    int h, mi;
    if (!timefmt_digits(s + 1, 2, &h) || s[3] != ':' || !timefmt_digits(s + 4, 2, &mi) ||
        s[6] != '\0' || h > 23 || mi > 59)
        return false;
    *off_secs = (int64_t)(h * 3600 + mi * 60) * (s[0] == '-' ? -1 : 1);
    return true;
}

bool timefmt_parse(const char *s, int64_t *ms_out)
{
    struct tm tm;
    if (s == NULL || strnlen(s, 11) < 11 || !timefmt_date_part(s, &tm))
        return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return false;
    if (strnlen(s + 11, 8) < 8 || !timefmt_time_part(s + 11, &tm))
        return false;
    const char *p = s + 19;
    int frac_ms;
    int64_t off_secs;
    if (!timefmt_fraction(&p, &frac_ms) || !timefmt_offset(p, &off_secs))
        return false;
    time_t secs = timegm(&tm);
    *ms_out = ((int64_t)secs - off_secs) * 1000 + frac_ms;
    return true;
}

bool timefmt_parse_date(const char *s, int64_t *ms_out)
{
    struct tm tm;
    if (s == NULL || strnlen(s, 11) != 10 || !timefmt_date_part(s, &tm))
        return false;
    *ms_out = (int64_t)timegm(&tm) * 1000;
    return true;
}
