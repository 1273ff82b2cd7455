/* Unit tests of containers as generations (supervise/container.c): which commands are
 * container commands and which are refused, the per-generation names, the command a
 * worker runs (name, labels, --rm, --replace, expanded variables), the removal command
 * of each engine, image references and the short form's command. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/spawn.h"
#include "supervise/container.h"

/* argv joined by spaces, for comparisons. */
static const char *joined(char *const *argv)
{
    static char buf[1024];
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; argv[i]; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "", argv[i]);
    return buf;
}

static void recognises_container_commands(void **state)
{
    struct err e;
    char *podman[] = {"podman", "run", "app:v1", NULL};
    char *docker[] = {"/usr/bin/docker", "run", "-p", "1:2", "app:v1", NULL};
    char *global[] = {"podman", "--runtime", "runc", "run", "app:v1", NULL};
    char *other[] = {"./httpapp", "run", NULL};
    char *pull[] = {"podman", "pull", "app:v1", NULL};
    assert_int_equal(container_check(podman, &e), 1);
    assert_int_equal(container_check(docker, &e), 1);
    assert_int_equal(container_check(global, &e), 1);
    assert_int_equal(container_check(other, &e), 0);
    assert_int_equal(container_check(pull, &e), 0);

    char *noimage[] = {"podman", "run", NULL};
    assert_int_equal(container_check(noimage, &e), -1);
    assert_string_equal(e.msg, "container command 'podman run' names no image");
    char *named[] = {"podman", "run", "--name=web", "app:v1", NULL};
    assert_int_equal(container_check(named, &e), -1);
    assert_string_equal(e.msg, "container command: baton names each generation's container "
                               "itself; remove '--name=web'");
    const char *detach[] = {"-d", "--detach", "--detach=true", "-dit", "-td"};
    for (size_t i = 0; i < sizeof(detach) / sizeof(detach[0]); i++) {
        char *cmd[] = {"podman", "run", (char *)detach[i], "app:v1", NULL};
        assert_refused(container_check(cmd, &e), e.msg, "would detach the container");
    }
    char *it[] = {"podman", "run", "-it", "app:v1", NULL};
    assert_int_equal(container_check(it, &e), 1);
}

static void names_per_generation(void **state)
{
    char buf[CONTAINER_NAME_MAX];
    container_name(buf, sizeof(buf), "web", 7, 0, 1);
    assert_string_equal(buf, "web-g7");
    container_name(buf, sizeof(buf), "web", 7, 2, 3);
    assert_string_equal(buf, "web-g7-w2");
}

static void builds_the_worker_command(void **state)
{
    char *argv[] = {"podman",
                    "--runtime",
                    "runc",
                    "run",
                    "-p",
                    "127.0.0.1:${PORT}:80",
                    "-e",
                    "PORT",
                    "-e",
                    "G=$BATON_GENERATION$$",
                    "app:v1",
                    "--listen",
                    "0.0.0.0:$BATON_PORT",
                    "$PORTS",
                    "${HOME}",
                    NULL};
    char **out = container_argv(argv, "web-g3", "web", 3, 20417, 0);
    assert_non_null(out);
    assert_string_equal(joined(out),
                        "podman --runtime runc run --name web-g3 --label baton.instance=web "
                        "--label baton.generation=3 --rm -p 127.0.0.1:20417:80 -e PORT -e G=3$ "
                        "app:v1 --listen 0.0.0.0:20417 $PORTS ${HOME}");
    spawn_argv_free(out);

    out = container_argv(argv, "web-g3", "web", 3, 20417, 1);
    assert_non_null(strstr(joined(out), " --rm --replace -p "));
    spawn_argv_free(out);
    char *docker[] = {"docker", "run", "app:v1", NULL};
    out = container_argv(docker, "web-g4", "web", 4, 20000, 1);
    assert_string_equal(joined(out), "docker run --name web-g4 --label baton.instance=web --label "
                                     "baton.generation=4 --rm app:v1");
    spawn_argv_free(out);

    char **launch;
    struct err e;
    char *plain[] = {"./httpapp", NULL};
    assert_int_equal(container_launch(plain, "web", 1, 0, 1, 20000, 0, &launch, &e), 0);
    assert_null(launch);
    assert_int_equal(container_launch(docker, "web", 5, 1, 2, 20000, 0, &launch, &e), 0);
    assert_non_null(strstr(joined(launch), "--name web-g5-w1 "));
    spawn_argv_free(launch);
}

static void removes_by_name(void **state)
{
    char *podman[] = {"/usr/bin/podman", "--cgroup-manager=cgroupfs", "run", "app:v1", NULL};
    char **rm = container_rm_argv(podman, "web-g2");
    assert_string_equal(joined(rm), "/usr/bin/podman --cgroup-manager=cgroupfs rm --force "
                                    "--ignore --time 0 web-g2");
    spawn_argv_free(rm);
    char *docker[] = {"docker", "run", "app:v1", NULL};
    rm = container_rm_argv(docker, "web-g2");
    assert_string_equal(joined(rm), "docker rm --force web-g2");
    spawn_argv_free(rm);
}

static void checks_images_and_short_form(void **state)
{
    struct err e;
    assert_int_equal(container_image_check("localhost/app:v1", &e), 0);
    assert_int_equal(container_image_check("reg.example:5000/a/b@sha256:00ff", &e), 0);
    const char *bad[] = {"", "-it", "app v1", "app;rm", "app\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(container_image_check(bad[i], &e), -1);
    assert_string_equal(e.msg, "invalid image 'app\n': expected a reference of letters, digits "
                               "and '._/:@-' (at most 255 bytes, not starting with '-')");
    char long_image[300];
    memset(long_image, 'a', sizeof(long_image) - 1);
    long_image[sizeof(long_image) - 1] = 0;
    assert_int_equal(container_image_check(long_image, &e), -1);

    char *extra[] = {"--ulimit", "nofile=1024:1024", NULL};
    char **argv = container_short_argv("podman", 80, extra, "app:v2", &e);
    assert_string_equal(joined(argv),
                        "podman run -p 127.0.0.1:${PORT}:80 --ulimit nofile=1024:1024 app:v2");
    assert_int_equal(container_check(argv, &e), 1);
    spawn_argv_free(argv);
    argv = container_short_argv("docker", 8080, NULL, "app:v2", &e);
    assert_string_equal(joined(argv), "docker run -p 127.0.0.1:${PORT}:8080 app:v2");
    spawn_argv_free(argv);
    assert_null(container_short_argv("podman", 80, NULL, "-v", &e));
}

UNIT_MAIN("container", NULL, NULL, cmocka_unit_test(recognises_container_commands),
          cmocka_unit_test(names_per_generation), cmocka_unit_test(builds_the_worker_command),
          cmocka_unit_test(removes_by_name), cmocka_unit_test(checks_images_and_short_form))
