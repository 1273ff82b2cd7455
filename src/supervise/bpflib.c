/* libbpf, opened when a master first loads BPF programs (--mode reuseport) rather than
 * linked: every other master never maps it, nor libelf and zlib that come with it
 * (docs/internals/master-memory.md). Each function below has libbpf's name and the
 * prototype of libbpf's header (the compiler checks the two agree) and calls the
 * library's own; a libbpf function used elsewhere without one here fails the link. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"

#define BPFLIB_SONAME "libbpf.so.1"

static void *bpflib_handle;
static pthread_once_t bpflib_once = PTHREAD_ONCE_INIT;

static void bpflib_open(void)
{
    bpflib_handle = dlopen(BPFLIB_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!bpflib_handle)
        log_warn("cannot load BPF programs without libbpf: %s", dlerror());
}

/* The library's `name`, or NULL (errno ELIBACC) when it cannot be opened. */
static void *bpflib_sym(const char *name)
{
    pthread_once(&bpflib_once, bpflib_open);
    void *f = bpflib_handle ? dlsym(bpflib_handle, name) : NULL;
    if (!f) {
        if (bpflib_handle)
            log_warn("'%s' has no function '%s'", BPFLIB_SONAME, name);
        errno = ELIBACC;
    }
    return f;
}

/* fn: the library's function `name`, typed as its header declares it. */
#define BPFLIB_FN(name)                                                                            \
    static __typeof__(&name) fn;                                                                   \
    fn = fn ? fn : (__typeof__(&name))bpflib_sym(#name)

libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t print)
{
    BPFLIB_FN(libbpf_set_print);
    return fn ? fn(print) : NULL;
}

int bpf_object__open_skeleton(struct bpf_object_skeleton *s, const struct bpf_object_open_opts *o)
{
    BPFLIB_FN(bpf_object__open_skeleton);
    return fn ? fn(s, o) : -ELIBACC;
}

int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
    BPFLIB_FN(bpf_object__load_skeleton);
    return fn ? fn(s) : -ELIBACC;
}

int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
    BPFLIB_FN(bpf_object__attach_skeleton);
    return fn ? fn(s) : -ELIBACC;
}

void bpf_object__detach_skeleton(struct bpf_object_skeleton *s)
{
    BPFLIB_FN(bpf_object__detach_skeleton);
    if (fn)
        fn(s);
}

void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
    BPFLIB_FN(bpf_object__destroy_skeleton);
    if (fn)
        fn(s);
}

struct bpf_link *bpf_program__attach_netns(const struct bpf_program *prog, int netns_fd)
{
    BPFLIB_FN(bpf_program__attach_netns);
    return fn ? fn(prog, netns_fd) : NULL;
}

int bpf_link__destroy(struct bpf_link *link)
{
    BPFLIB_FN(bpf_link__destroy);
    return fn ? fn(link) : -ELIBACC;
}

int bpf_program__fd(const struct bpf_program *prog)
{
    BPFLIB_FN(bpf_program__fd);
    return fn ? fn(prog) : -ELIBACC;
}

int bpf_map__fd(const struct bpf_map *map)
{
    BPFLIB_FN(bpf_map__fd);
    return fn ? fn(map) : -ELIBACC;
}

int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)
{
    BPFLIB_FN(bpf_map_update_elem);
    return fn ? fn(fd, key, value, flags) : -ELIBACC;
}

int bpf_map_delete_elem(int fd, const void *key)
{
    BPFLIB_FN(bpf_map_delete_elem);
    return fn ? fn(fd, key) : -ELIBACC;
}
