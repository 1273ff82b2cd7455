/* Containers as generations of `baton run --mode proxy`: a command `podman run ...` or
 * `docker run ...` (the engine by the base name of its first word) runs in the
 * foreground as a worker; baton names its container per generation (NAME-gN), labels it,
 * expands ${PORT}, ${BATON_PORT} and ${BATON_GENERATION} in its words, and removes the
 * container by name once its generation is gone. The short form (--image) builds such a
 * command. */
#ifndef BATON_SUPERVISE_CONTAINER_H
#define BATON_SUPERVISE_CONTAINER_H

#include <stddef.h>

#include "core/err.h"

#define CONTAINER_IMAGE_MAX 255
#define CONTAINER_NAME_MAX  128

/* 1 when argv runs a container (`ENGINE [GLOBAL-OPTIONS] run ...`, ENGINE's base name
 * `podman` or `docker`), 0 when it is another command, -1 (e) when it is a container
 * command baton cannot run as a generation (it names the container itself; `--name`,
 * `-d`/`--detach` or no word after `run`). */
int container_check(char *const *argv, struct err *e);

/* The name of the container of `slot` of generation `gen_id`: INSTANCE-gN, or
 * INSTANCE-gN-wI when the generation has several slots. */
void container_name(char *buf, size_t size, const char *instance, unsigned gen_id, int slot,
                    int nslots);

/* The command a worker runs for container command argv (container_check said 1): after
 * `run`, --name NAME, --label baton.instance=INSTANCE, --label baton.generation=N, --rm,
 * and for podman on a restart of the slot --replace; ${PORT}/$PORT, ${BATON_PORT}/
 * $BATON_PORT and ${BATON_GENERATION}/$BATON_GENERATION expanded in the words after
 * `run` ($$ gives $). Caller frees (spawn_argv_free); NULL on out of memory. */
char **container_argv(char *const *argv, const char *name, const char *instance, unsigned gen_id,
                      int port, int restart);

/* How a worker of generation `gen_id` (nslots slots) running argv starts: *out is
 * container_argv's command (caller frees) when argv is a container command, NULL when
 * it is not; -1 with e when container_check refuses it or on out of memory. */
int container_launch(char *const *argv, const char *instance, unsigned gen_id, int slot, int nslots,
                     int port, int restart, char ***out, struct err *e);

/* The command that removes container `name` of command argv at once, running or not,
 * and succeeds when it is already gone. Caller frees (spawn_argv_free). */
char **container_rm_argv(char *const *argv, const char *name);

/* 0 when `image` is a plain image reference ([A-Za-z0-9._/:@-], not starting with '-',
 * at most CONTAINER_IMAGE_MAX bytes), else -1 with e. */
int container_image_check(const char *image, struct err *e);

/* The short form: `ENGINE run -p 127.0.0.1:${PORT}:CONTAINER_PORT [EXTRA...] IMAGE`
 * (extra: the run arguments given after --, NULL-terminated, may be NULL). Caller frees
 * (spawn_argv_free); NULL with e on a bad image or out of memory. */
char **container_short_argv(const char *engine, int container_port, char *const *extra,
                            const char *image, struct err *e);

#endif
