/* Unit tests of the state file's writer thread (statefile.c): what is posted reaches the
 * file, the newest text wins, a wait returns only once the file holds it, and closing
 * writes what is pending. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervise/state.h"
#include "supervise/statefile.h"

/* The file's text, NUL-terminated (caller frees), or NULL. */
static char *file_text(const char *path)
{
    char *text = NULL;
    size_t len;
    struct err e;
    if (state_read_file(path, &text, &len, &e) < 0)
        return NULL;
    char *s = strndup(text, len);
    free(text);
    return s;
}

static void posts_reach_the_file_newest_last(void **state)
{
    char dir[] = "/tmp/baton-test-statefile.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.state", dir);
    struct statefile *sf;
    struct err e;
    assert_int_equal(statefile_open(&sf, path, &e), 0);
    char want[32] = "";
    for (int i = 0; i < 200; i++) {
        snprintf(want, sizeof(want), "{\"n\":%d}", i);
        statefile_post(sf, strdup(want));
        if (i % 50 == 0) { /* the file holds exactly what was posted last */
            statefile_wait(sf);
            char *got = file_text(path);
            assert_non_null(got);
            assert_string_equal(got, want);
            free(got);
        }
    }
    statefile_wait(sf);
    char *got = file_text(path);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    statefile_post(sf, strdup("{\"n\":\"last\"}"));
    statefile_close(sf); /* writes what is pending before it returns */
    got = file_text(path);
    assert_non_null(got);
    assert_string_equal(got, "{\"n\":\"last\"}");
    free(got);
    unlink(path);
    rmdir(dir);
}

static void a_failed_write_is_survived(void **state)
{
    struct statefile *sf;
    struct err e;
    assert_int_equal(statefile_open(&sf, "/nonexistent-dir/s.state", &e), 0);
    statefile_post(sf, strdup("{}"));
    statefile_wait(sf); /* returns although the write failed (with a warning) */
    statefile_close(sf);
    statefile_close(NULL);
}

UNIT_MAIN("supervise_statefile", NULL, NULL, cmocka_unit_test(posts_reach_the_file_newest_last),
          cmocka_unit_test(a_failed_write_is_survived))
