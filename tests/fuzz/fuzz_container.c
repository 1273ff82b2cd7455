/* libFuzzer target: container commands (supervise/container.c). The input is a command
 * line, words split at NUL bytes: it is checked, and when it is a container command the
 * worker's command (names, labels, expanded ${PORT} and friends) and the removal
 * command are built; the last word is also checked as an image and, when valid, turned
 * into the short form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "core/spawn.h"
#include "supervise/container.h"

#define FUZZ_WORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size), *argv[FUZZ_WORDS + 1];
    if (!text)
        return 0;
    int n = 0;
    for (size_t off = 0; off <= size && n < FUZZ_WORDS; off += strlen(text + off) + 1)
        argv[n++] = text + off;
    argv[n] = NULL;
    struct err e;
    char **out;
    if (container_launch(argv, "fuzz", 7, 1, 2, 20417, size & 1, &out, &e) == 0 && out) {
        int k = 0;
        while (out[k])
            k++;
        if (k < n + 7)
            abort(); /* the name, the labels and --rm are added; no word is lost */
        spawn_argv_free(out);
        char **rm = container_rm_argv(argv, "fuzz-g7-w1");
        if (!rm)
            abort();
        spawn_argv_free(rm);
    }
    if (container_image_check(argv[n - 1], &e) == 0) {
        char **cmd = container_short_argv("podman", 80, argv, argv[n - 1], &e);
        if (!cmd || !strstr(cmd[3], "${PORT}"))
            abort();              /* a valid image always gives a command publishing the port */
        container_check(cmd, &e); /* the extra words may name or detach it: refused */
        spawn_argv_free(cmd);
    }
    free(text);
    return 0;
}
