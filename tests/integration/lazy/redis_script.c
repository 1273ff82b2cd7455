/* A driver for t_lazy_redis_script.sh: a long-lived client of libbaton-lazy on Redis
 * whose server forgets the compare-and-set script (SCRIPT FLUSH, as after a restart or a
 * failover) twice: before a sweep, whose pipelined writes then all meet NOSCRIPT, and
 * before a single lazy_update. Both must load the script again and succeed.
 * Usage: redis_script PORT PREFIX CHAIN ID  (the documents are already in PREFIX) */
#include <stdio.h>
#include <stdlib.h>

#include <baton/lazy.h>
#include <hiredis.h>

static int flush_scripts(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *r = c && !c->err ? redisCommand(c, "SCRIPT FLUSH") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (!ok)
        fprintf(stderr, "redis_script: SCRIPT FLUSH failed\n");
    freeReplyObject(r);
    redisFree(c);
    return ok ? 0 : -1;
}

static int bump(json_t *doc, void *arg, char *msg, size_t size)
{
    return json_object_set_new(doc, "bumped", json_true());
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: redis_script PORT PREFIX CHAIN ID\n");
        return 2;
    }
    char url[128];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%s/%s", argv[1], argv[2]);
    struct lazy_error e;
    struct lazy_chain *c = NULL;
    struct lazy_store *s = NULL;
    struct lazy_sweep_report r;
    int rc = 1;
    if (lazy_chain_load(argv[3], NULL, &c, &e) < 0 || lazy_store_open(url, &s, &e) < 0)
        goto out;
    if (flush_scripts(atoi(argv[1])) < 0)
        goto done;
    if (lazy_sweep(s, c, &(struct lazy_sweep_opts){.batch = 50}, &r, &e) < 0)
        goto out;
    printf("sweep upgraded %zu complete %d\n", r.upgraded, r.complete);
    if (flush_scripts(atoi(argv[1])) < 0)
        goto done;
    if (lazy_update(s, c, argv[4], bump, NULL, &e) < 0)
        goto out;
    printf("update ok\n");
    rc = 0;
    goto done;
out:
    fprintf(stderr, "redis_script: %s\n", e.msg);
done:
    lazy_store_close(s);
    lazy_chain_free(c);
    return rc;
}
