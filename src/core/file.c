/* Whole-file reading under a size limit, for the files baton parses from memory (see
 * file.h). */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The limit as people write it: "1 MiB", "64 KiB" or "100 bytes". */
static void size_text(size_t n, char *buf, size_t cap)
{
    if (n && n % (1024 * 1024) == 0)
        snprintf(buf, cap, "%zu MiB", n / (1024 * 1024));
    else if (n && n % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", n / 1024);
    else
        snprintf(buf, cap, "%zu bytes", n);
}

/* Reads fd to its end into buf (max + 1 bytes): 0 with *n, or the errno of the failure
 * (EFBIG once more than max bytes came). */
static int read_to_end(int fd, char *buf, size_t max, size_t *n)
{
    *n = 0;
    for (;;) {
        if (*n > max)
            return EFBIG;
        ssize_t r = read(fd, buf + *n, max + 1 - *n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            return 0;
        *n += (size_t)r;
    }
}

int file_read(const char *path, const char *what, size_t max, int flags, char **text, size_t *len,
              struct err *e)
{
    *text = NULL;
    if (len)
        *len = 0;
    char *buf = NULL;
    size_t n = 0;
    int cause = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cause = errno;
        err_errno(e, cause, "cannot open %s '%s'", what, path);
        goto out;
    }
    buf = malloc(max + 1);
    cause = buf ? read_to_end(fd, buf, max, &n) : ENOMEM;
    if (cause == EFBIG) {
        char limit[32];
        size_text(max, limit, sizeof(limit));
        err_set(e, "cannot read %s '%s': larger than %s", what, path, limit);
        goto out;
    }
    if (cause) {
        err_errno(e, cause, "cannot read %s '%s'", what, path);
        goto out;
    }
    buf[n] = 0;
    if ((flags & FILE_TEXT) && memchr(buf, 0, n)) {
        cause = EILSEQ;
        err_set(e, "%s '%s' holds a NUL byte", what, path);
        goto out;
    }
    *text = buf;
    if (len)
        *len = n;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    errno = cause;
    return cause ? -1 : 0;
}
