/* Shared by unit suites that check what a function prints. */
#ifndef TESTS_CAPTURE_H
#define TESTS_CAPTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Runs fn with stdout redirected to a temp file and returns what it wrote (caller frees). */
static inline char *capture_stdout(void (*fn)(void))
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    fn();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    off_t size = lseek(fileno(tmp), 0, SEEK_END);
    char *out = calloc(1, (size_t)size + 1);
    ck_assert_int_eq(pread(fileno(tmp), out, (size_t)size, 0), size);
    fclose(tmp);
    return out;
}

#endif
