/* Unit tests of src/core/file.c: a whole file (or pipe) read under its size limit, and the
 * refusals (missing, over the limit, a NUL byte, a directory) naming file and cause. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

/* What the last read_thing gave back. */
static char *text;
static size_t len;
static struct err e;

/* file_read of PATH as a "thing", dropping what the read before gave. */
static int read_thing(const char *path, size_t max, int flags)
{
    free(text);
    text = NULL;
    return file_read(path, "thing", max, flags, &text, &len, &e);
}

static int drop_text(void **state)
{
    free(text);
    text = NULL;
    return 0;
}

/* A temporary file holding the SIZE bytes of DATA; path is its template. */
static void put_file(char *path, const char *data, size_t size)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    close(fd);
}

/* DATA written to a file reads back whole, with a NUL after it. */
static void reads_back(const char *data, size_t size)
{
    char path[] = "/tmp/baton-file-XXXXXX";
    put_file(path, data, size);
    assert_int_equal(read_thing(path, 64, FILE_TEXT), 0);
    unlink(path);
    assert_int_equal(len, size);
    assert_string_equal(text, data);
}

static void reads_whole_file(void **state)
{
    reads_back("a = 1\nb = 2\n", 12);
    reads_back("", 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "piped", 5), 5);
    close(p[1]);
    char path[32];
    snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
    assert_int_equal(read_thing(path, 64, FILE_TEXT), 0);
    close(p[0]);
    assert_string_equal(text, "piped");
}

/* max bytes are read; one more is refused, with the limit in the unit people write. */
static void holds_its_limit(void **state)
{
    size_t mib = 1024 * 1024;
    char *big = malloc(mib + 1);
    assert_non_null(big);
    memset(big, 'x', mib + 1);
    char path[] = "/tmp/baton-file-XXXXXX";
    put_file(path, big, 2048);
    assert_int_equal(read_thing(path, 2048, FILE_TEXT), 0);
    assert_int_equal(len, 2048);
    assert_int_equal(text[2048], 0);
    assert_refused(read_thing(path, 2047, FILE_TEXT), e.msg, "larger than 2047 bytes");
    assert_int_equal(errno, EFBIG);
    assert_null(text);
    char want[128];
    snprintf(want, sizeof(want), "cannot read thing '%s': larger than 1 KiB", path);
    assert_int_equal(read_thing(path, 1024, 0), -1);
    assert_string_equal(e.msg, want);
    unlink(path);
    char large[] = "/tmp/baton-file-XXXXXX";
    put_file(large, big, mib + 1);
    assert_refused(read_thing(large, mib, FILE_TEXT), e.msg, "': larger than 1 MiB");
    unlink(large);
    free(big);
}

static void refuses_missing_file_and_directory(void **state)
{
    assert_int_equal(read_thing("/nonexistent/x.ini", 64, 0), -1);
    assert_int_equal(errno, ENOENT);
    assert_string_equal(e.msg, "cannot open thing '/nonexistent/x.ini': No such file or directory");
    assert_null(text);
    assert_int_equal(read_thing("/tmp", 64, 0), -1);
    assert_string_equal(e.msg, "cannot read thing '/tmp': Is a directory");
}

/* FILE_TEXT refuses a NUL byte; without it the bytes come whole. */
static void nul_byte_only_for_text(void **state)
{
    char path[] = "/tmp/baton-file-XXXXXX";
    put_file(path, "a\0b", 3);
    assert_refused(read_thing(path, 64, FILE_TEXT), e.msg, "' holds a NUL byte");
    assert_int_equal(errno, EILSEQ);
    assert_int_equal(strncmp(e.msg, "thing '", 7), 0);
    assert_int_equal(read_thing(path, 64, 0), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(text, "a\0b", 4);
    unlink(path);
}

UNIT_MAIN("file", NULL, drop_text, cmocka_unit_test(reads_whole_file),
          cmocka_unit_test(holds_its_limit), cmocka_unit_test(refuses_missing_file_and_directory),
          cmocka_unit_test(nul_byte_only_for_text))
