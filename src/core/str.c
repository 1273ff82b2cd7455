/* Strings that grow on the heap (see str.h). */
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void str_appendf(char **s, const char *fmt, ...)
{
    if (!*s)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *add = NULL;
    int n = vasprintf(&add, fmt, ap);
    va_end(ap);
    size_t len = strlen(*s);
    char *v = n < 0 ? NULL : realloc(*s, len + (size_t)n + 1);
    if (!v) {
        if (n >= 0)
            free(add);
        free(*s);
        *s = NULL;
        return;
    }
    memcpy(v + len, add, (size_t)n + 1);
    free(add);
    *s = v;
}

void str_list_free(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
