/* The read-only verbs of `baton migrate`: status, plan, lint, path, check, and `new`,
 * which writes a migration file from a template. None of them takes the runner lease. */
#include "migrate/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "migrate/keyset.h"
#include "migrate/ledger.h"
#include "migrate/lint.h"
#include "migrate/database.h"
#include "migrate/migration_set.h"
#include "migrate/plan.h"

static const char *release_of(const struct migration_set *s, const char *id)
{
    if (!s->has_releases)
        return NULL;
    int i = releases_of_migration(&s->releases, id);
    return i < 0 ? NULL : s->releases.v[i].name;
}

/* Backfill progress of a migration in its backfill phase: position and largest key. */
static void progress(struct database *db, const struct mfile *m, const struct ledger_entry *le,
                     char *buf, size_t cap, int64_t *max_key)
{
    *max_key = -1;
    buf[0] = 0;
    if (le->phase == PH_BACKFILLED || le->phase == PH_CONTRACTING || le->phase == PH_CONTRACTED) {
        snprintf(buf, cap, "done, %lld batches", (long long)le->batches);
        return;
    }
    if (le->phase != PH_BACKFILLING)
        return;
    struct plan p;
    struct err e;
    struct plan_lookup look = plan_db_lookup(db);
    if (plan_build(m, database_kind(db), &look, &p, &e) < 0)
        return;
    if (le->step < p.n[PLAN_BACKFILL] && p.steps[PLAN_BACKFILL][le->step].kind == STEP_BATCH) {
        const struct plan_step *s = &p.steps[PLAN_BACKFILL][le->step];
        char sql[256], pos[KEYSET_POS_MAX];
        int isnull, found = 0;
        struct keyset ks;
        if (keyset_parse(s->key, &ks, &e) == 0 && !keyset_is_integer(db, s->table, &ks)) {
            if (le->has_pos &&
                keyset_pos_load(db, m->id, le->step, pos, sizeof(pos), &found, &e) == 0 && found)
                snprintf(buf, cap, "step %d/%d: %s after %.200s, %lld batches", le->step + 1,
                         p.n[PLAN_BACKFILL], s->key, pos, (long long)le->batches);
            else
                snprintf(buf, cap, "step %d/%d: starting", le->step + 1, p.n[PLAN_BACKFILL]);
            plan_free(&p);
            return;
        }
        snprintf(sql, sizeof(sql), "SELECT max(%s) FROM %s", s->key, s->table);
        if (database_query_i64(db, sql, max_key, &isnull, &e) < 0 || isnull)
            *max_key = -1;
        if (le->has_pos)
            snprintf(buf, cap, "step %d/%d: %s %lld of %lld, %lld batches", le->step + 1,
                     p.n[PLAN_BACKFILL], s->key, (long long)le->pos, (long long)*max_key,
                     (long long)le->batches);
        else
            snprintf(buf, cap, "step %d/%d: starting", le->step + 1, p.n[PLAN_BACKFILL]);
    } else {
        snprintf(buf, cap, "step %d/%d", le->step + 1, p.n[PLAN_BACKFILL]);
    }
    plan_free(&p);
}

/* What status, plan and check read: the migration files, the database and its ledger. */
struct view {
    struct migration_set set;
    struct database *db;
    struct ledger led;
};

/* Frees what v holds, also when it was only half opened. */
static void view_close(struct view *v)
{
    ledger_free(&v->led);
    database_close(v->db);
    v->db = NULL;
    migration_set_free(&v->set);
}

/* Opens the database of o into v and loads its ledger; v->set is the caller's. */
static int view_open_db(const struct migrate_opts *o, struct view *v, struct err *e)
{
    if (database_open(o->db_url, &v->db, e) < 0 || ledger_load(v->db, &v->led, e) < 0)
        return -1;
    return 0;
}

/* Loads every migration file of o, then opens its database and ledger. On failure v
 * holds nothing. */
static int view_open(const struct migrate_opts *o, struct view *v, struct err *e)
{
    memset(v, 0, sizeof(*v));
    if (migration_set_load(o, &v->set, e) < 0)
        return -1;
    if (view_open_db(o, v, e) < 0) {
        view_close(v);
        return -1;
    }
    return 0;
}

/* Prints j indented, as the --json forms of the verbs do. */
static void print_json(FILE *out, const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s)
        fprintf(out, "%s\n", s);
    free(s);
}

static json_t *entry_json(const struct ledger_entry *le, const char *release, const char *prog,
                          int64_t max_key, int has_file)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(le->id));
    json_object_set_new(o, "phase", json_string(ledger_phase_name(le->phase)));
    json_object_set_new(o, "step", json_integer(le->step));
    json_object_set_new(o, "checksum", json_string(le->checksum));
    json_object_set_new(o, "release", release ? json_string(release) : json_null());
    json_object_set_new(o, "file", json_boolean(has_file));
    json_object_set_new(o, "backfill_pos", le->has_pos ? json_integer(le->pos) : json_null());
    json_object_set_new(o, "backfill_max", max_key >= 0 ? json_integer(max_key) : json_null());
    json_object_set_new(o, "backfill_batches", json_integer(le->batches));
    json_object_set_new(o, "progress", json_string(prog));
    const char *ts[][2] = {{"started_at", le->started_at},
                           {"updated_at", le->updated_at},
                           {"expanded_at", le->expanded_at},
                           {"contracted_at", le->contracted_at}};
    for (size_t i = 0; i < 4; i++)
        json_object_set_new(o, ts[i][0], ts[i][1][0] ? json_string(ts[i][1]) : json_null());
    return o;
}

/* One line on the runner lease: who holds it and for how long. */
static void print_lease(struct database *db, FILE *out)
{
    struct database_rows r;
    struct err e;
    if (database_query(db, "SELECT holder, token, expires_ms FROM baton_lock WHERE id = 1", &r,
                       &e) < 0)
        return; /* no lock table yet: nobody ever ran */
    const char *holder = database_cell(&r, 0, 0);
    long long expires = database_cell(&r, 0, 2) ? strtoll(database_cell(&r, 0, 2), NULL, 10) : 0;
    long long left = expires - (long long)clock_wall_ms();
    if (holder && left > 0)
        fprintf(out, "lease: held by %s (token %s), expires in %lld ms\n", holder,
                database_cell(&r, 0, 1), left);
    else
        fprintf(out, "lease: free (last token %s)\n",
                database_cell(&r, 0, 1) ? database_cell(&r, 0, 1) : "0");
    database_rows_free(&r);
}

int migrate_status(const struct migrate_opts *o, FILE *out, struct err *e)
{
    struct view v;
    if (view_open(o, &v, e) < 0)
        return -1;
    json_t *arr = json_array();
    if (!o->json)
        fprintf(out, "%-32s %-12s %-10s %s\n", "MIGRATION", "PHASE", "RELEASE", "PROGRESS");
    for (int pass = 0; pass < 2; pass++) {
        int n = pass == 0 ? v.set.n : v.led.n;
        for (int i = 0; i < n; i++) {
            struct ledger_entry blank = {0}, *le;
            const struct mfile *m = NULL;
            if (pass == 0) {
                m = v.set.m[i];
                le = ledger_find(&v.led, m->id);
                if (!le) {
                    le = &blank;
                    snprintf(blank.id, sizeof(blank.id), "%s", m->id);
                    snprintf(blank.checksum, sizeof(blank.checksum), "%s", m->checksum);
                }
            } else {
                le = &v.led.v[i];
                if (migration_set_index(&v.set, le->id) >= 0)
                    continue; /* shown in the first pass */
            }
            char prog[256] = "";
            int64_t max_key = -1;
            if (m)
                progress(v.db, m, le, prog, sizeof(prog), &max_key);
            if (!m)
                snprintf(prog, sizeof(prog), "no file in '%s'", o->dir);
            const char *rel = release_of(&v.set, le->id);
            if (o->json)
                json_array_append_new(arr, entry_json(le, rel, prog, max_key, m != NULL));
            else
                fprintf(out, "%-32s %-12s %-10s %s\n", le->id, ledger_phase_name(le->phase),
                        rel ? rel : "-", prog);
        }
    }
    if (o->json)
        print_json(out, arr);
    json_decref(arr);
    if (!o->json)
        print_lease(v.db, out);
    view_close(&v);
    return 0;
}

static void print_steps(FILE *out, const struct plan *p, enum plan_phase ph, int from)
{
    for (int i = from; i < p->n[ph]; i++) {
        fprintf(out, "  %-8s %d. %s\n", plan_phase_name(ph), i + 1, p->steps[ph][i].desc);
        const char *sql = p->steps[ph][i].sql;
        while (sql && *sql) {
            const char *nl = strchr(sql, '\n');
            int len = nl ? (int)(nl - sql) : (int)strlen(sql);
            if (len > 0)
                fprintf(out, "             | %.*s\n", len, sql);
            sql = nl ? nl + 1 : NULL;
        }
    }
}

/* The steps a migration in phase `ph` (at `step` of it) has left to run: `n` plan phases
 * from `first`, the ledger's step a position in the first one when `resume`. */
static void print_remaining(FILE *out, const struct plan *p, enum mphase ph, int step)
{
    static const struct {
        enum plan_phase first;
        int n, resume;
    } left[PH_COUNT] = {
        [PH_PENDING] = {PLAN_EXPAND, 3, 0},       [PH_ABORTED] = {PLAN_EXPAND, 3, 0},
        [PH_EXPANDING] = {PLAN_EXPAND, 3, 1},     [PH_EXPANDED] = {PLAN_BACKFILL, 2, 0},
        [PH_BACKFILLING] = {PLAN_BACKFILL, 2, 1}, [PH_BACKFILLED] = {PLAN_CONTRACT, 1, 0},
        [PH_CONTRACTING] = {PLAN_CONTRACT, 1, 1}, [PH_CONTRACTED] = {PLAN_CONTRACT, 0, 0},
        [PH_ABORTING] = {PLAN_ABORT, 1, 1},
    };
    if ((unsigned)ph >= PH_COUNT)
        return;
    for (int i = 0; i < left[ph].n; i++)
        print_steps(out, p, (enum plan_phase)(left[ph].first + i),
                    i == 0 && left[ph].resume ? step : 0);
}

int migrate_plan(const struct migrate_opts *o, FILE *out, struct err *e)
{
    struct view v;
    struct lint_report rep = {0};
    if (view_open(o, &v, e) < 0)
        return -1;
    int rc = -1;
    int shown = 0;
    struct lint_facts facts = lint_facts_db(v.db);
    struct lint_opts lo = {&facts, o->small_table_rows, o->lint_style};
    for (int i = 0; i < v.set.n; i++) {
        const struct mfile *m = v.set.m[i];
        struct ledger_entry *le = ledger_find(&v.led, m->id);
        enum mphase ph = le ? le->phase : PH_PENDING;
        if (ph == PH_CONTRACTED)
            continue;
        if (le && ph != PH_PENDING && ph != PH_ABORTED && strcmp(le->checksum, m->checksum))
            fprintf(out, "%s: the file changed after it was applied (ledger %s, file %s)\n", m->id,
                    le->checksum, m->checksum);
        struct plan p;
        struct plan_lookup look = plan_db_lookup(v.db);
        if (plan_build(m, database_kind(v.db), &look, &p, e) < 0)
            goto out;
        const char *rel = release_of(&v.set, m->id);
        fprintf(out, "%s (%s%s%s%s):\n", m->id, ledger_phase_name(ph), rel ? ", release " : "",
                rel ? rel : "",
                rel && v.set.releases.v[releases_of_migration(&v.set.releases, m->id)].checkpoint
                    ? ", checkpoint"
                    : "");
        print_remaining(out, &p, ph, le ? le->step : 0);
        if (p.unresolved && (ph == PH_PENDING || ph == PH_ABORTED))
            fprintf(out, "  warning: a table or column it renames or retypes does not exist\n");
        plan_free(&p);
        if (ph == PH_PENDING || ph == PH_ABORTED)
            lint_mfile(m, database_kind(v.db), &lo, &rep);
        shown++;
    }
    if (!shown)
        fprintf(out, "nothing to do: every migration is contracted\n");
    if (rep.n) {
        fprintf(out, "lint findings (expand refuses to run until they are fixed):\n");
        lint_print(&rep, out);
    }
    rc = rep.n;
out:
    lint_report_free(&rep);
    view_close(&v);
    return rc;
}

int migrate_lint(const struct migrate_opts *o, char **files, int nfiles, FILE *out, struct err *e)
{
    int kinds[2] = {DATABASE_SQLITE, DATABASE_POSTGRES}, nk = 2;
    struct database *db = NULL;
    struct lint_facts facts;
    struct lint_opts lo = {NULL, o->small_table_rows, o->lint_style};
    if (o->db_url && *o->db_url) {
        kinds[0] = database_url_kind(o->db_url);
        nk = 1;
        struct err oe;
        if (database_open(o->db_url, &db, &oe) < 0)
            fprintf(stderr, "baton migrate lint: %s; linting for %s without facts from it\n",
                    oe.msg, kinds[0] == DATABASE_POSTGRES ? "postgres" : "sqlite");
        else {
            facts = lint_facts_db(db);
            lo.facts = &facts;
        }
    }
    struct lint_report rep = {0};
    struct ledger led = {0};
    struct err le_err;
    int bad = 0;
    if (db && ledger_load(db, &led, &le_err) < 0)
        led.n = 0;
    for (int i = 0; i < nfiles; i++) {
        struct mfile *m;
        struct err pe;
        if (mfile_load(files[i], &m, &pe) < 0) {
            fprintf(out, "%s\n", pe.msg);
            bad++;
            continue;
        }
        /* the database is already past this file: it never runs against it again */
        const struct ledger_entry *le = ledger_find(&led, m->id);
        if (le && le->phase != PH_PENDING && le->phase != PH_ABORTED)
            fprintf(out, "%s%s: %s in this database, so not linted against it\n", m->id,
                    MFILE_SUFFIX, ledger_phase_name(le->phase));
        else
            for (int k = 0; k < nk; k++)
                lint_mfile(m, (enum database_kind)kinds[k], &lo, &rep);
        mfile_free(m);
    }
    lint_print(&rep, out);
    int n = rep.n + bad;
    lint_report_free(&rep);
    ledger_free(&led);
    database_close(db);
    return n;
}

static int load_releases(const struct migrate_opts *o, struct migration_set *set, struct err *e)
{
    if (migration_set_load(o, set, e) < 0)
        return -1;
    if (!set->has_releases) {
        migration_set_free(set);
        return err_set(e, "no releases manifest: write '%s/releases.ini' or pass --releases",
                       o->dir);
    }
    return 0;
}

int migrate_path(const struct migrate_opts *o, const char *from, const char *to, FILE *out,
                 struct err *e)
{
    struct migration_set set;
    if (load_releases(o, &set, e) < 0)
        return -1;
    const struct releases *r = &set.releases;
    int rc = -1;
    int a = releases_index(r, from), b = releases_index(r, to);
    if (a < 0 || b < 0) {
        err_set(e, "no release '%s' in the releases manifest", a < 0 ? from : to);
        goto out;
    }
    if (b < a) {
        err_set(e,
                "release '%s' comes before '%s': migrations are forward only, roll back the "
                "app, never the database",
                to, from);
        goto out;
    }
    json_t *stops = json_array();
    int nstops = 0;
    for (int c = a + 1; c < b; c++)
        if (r->v[c].checkpoint)
            nstops++;
    if (!o->json) {
        fprintf(out, "path from %s to %s: %d mandatory stop%s\n", from, to, nstops,
                nstops == 1 ? "" : "s");
        if (r->v[a].checkpoint && a != b)
            fprintf(out,
                    "  %s is a checkpoint: 'baton migrate contract --to %s' must have run "
                    "before leaving it\n",
                    from, releases_last_migration(r, a));
    }
    int k = 0;
    for (int c = a + 1; c <= b; c++) {
        if (c < b && !r->v[c].checkpoint)
            continue;
        const char *last = releases_last_migration(r, c);
        json_t *st = json_object();
        json_object_set_new(st, "release", json_string(r->v[c].name));
        json_object_set_new(st, "checkpoint", json_boolean(r->v[c].checkpoint));
        json_object_set_new(st, "expand_to", last ? json_string(last) : json_null());
        json_array_append_new(stops, st);
        if (o->json)
            continue;
        fprintf(out, "  %s %d: release %s%s\n", c < b ? "stop" : "then", ++k, r->v[c].name,
                r->v[c].checkpoint ? " (checkpoint)" : "");
        if (last)
            fprintf(out, "      baton migrate expand --to %s\n", last);
        fprintf(out, "      deploy %s%s\n", r->v[c].name, c < b ? " and declare it stable" : "");
        if (c < b && last)
            fprintf(out, "      baton migrate contract --to %s\n", last);
    }
    if (o->json) {
        json_t *root = json_object();
        json_object_set_new(root, "from", json_string(from));
        json_object_set_new(root, "to", json_string(to));
        json_object_set_new(root, "stops", stops);
        print_json(out, root);
        json_decref(root);
    } else {
        json_decref(stops);
    }
    rc = 0;
out:
    migration_set_free(&set);
    return rc;
}

int migrate_check(const struct migrate_opts *o, const char *release, FILE *out, struct err *e)
{
    struct view v = {0};
    if (load_releases(o, &v.set, e) < 0)
        return -1;
    json_t *reasons = json_array();
    int rc = -1;
    const struct releases *r = &v.set.releases;
    int ri = releases_index(r, release);
    if (ri < 0) {
        err_set(e, "no release '%s' in the releases manifest", release);
        goto out;
    }
    if (view_open_db(o, &v, e) < 0)
        goto out;
    char msg[512];
    for (int k = 0; k <= ri; k++)
        for (int j = 0; j < r->v[k].nmigs; j++) {
            struct ledger_entry *le = ledger_find(&v.led, r->v[k].migs[j]);
            enum mphase ph = le ? le->phase : PH_PENDING;
            if (ph == PH_BACKFILLED || ph == PH_CONTRACTING || ph == PH_CONTRACTED)
                continue;
            snprintf(msg, sizeof(msg),
                     "migration '%s' (release %s) is %s: run 'baton migrate expand --to %s'",
                     r->v[k].migs[j], r->v[k].name, ledger_phase_name(ph), r->v[k].migs[j]);
            json_array_append_new(reasons, json_string(msg));
        }
    for (int i = 0; i < v.led.n; i++) {
        const struct ledger_entry *le = &v.led.v[i];
        if (le->phase != PH_CONTRACTING && le->phase != PH_CONTRACTED)
            continue;
        int rk = releases_of_migration(r, le->id);
        if (rk > ri) {
            snprintf(msg, sizeof(msg),
                     "migration '%s' (release %s) is %s: it removed what release %s still uses",
                     le->id, r->v[rk].name, ledger_phase_name(le->phase), release);
            json_array_append_new(reasons, json_string(msg));
        }
    }
    int ok = json_array_size(reasons) == 0;
    if (o->json) {
        json_t *root = json_object();
        json_object_set_new(root, "release", json_string(release));
        json_object_set_new(root, "compatible", json_boolean(ok));
        json_object_set_new(root, "reasons", json_incref(reasons));
        print_json(out, root);
        json_decref(root);
    } else {
        fprintf(out, "release %s: %s\n", release,
                ok ? "the database is compatible" : "the database is NOT compatible");
        for (size_t i = 0; i < json_array_size(reasons); i++)
            fprintf(out, "  %s\n", json_string_value(json_array_get(reasons, i)));
    }
    rc = ok;
out:
    json_decref(reasons);
    view_close(&v);
    return rc;
}

int migrate_new(const struct migrate_opts *o, const char *name, FILE *out, struct err *e)
{
    if (!mfile_ident_ok(name) || strlen(name) > 80)
        return err_set(e, "invalid migration name '%s': letters, digits and '_'", name);
    char **paths;
    int n;
    if (migration_set_paths(o, &paths, &n, e) < 0)
        return -1;
    long next = 1;
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/');
        long v = strtol(base ? base + 1 : paths[i], NULL, 10);
        if (v >= next)
            next = v + 1;
    }
    mfile_list_free(paths, n);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%04ld_%s%s", o->dir, next, name, MFILE_SUFFIX);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return err_errno(e, errno, "cannot create '%s'", path);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return err_errno(e, errno, "cannot write '%s'", path);
    }
    fprintf(
        f,
        "# %04ld_%s: say what this migration changes and why.\n"
        "# Declarative operations, one per line (baton writes the SQL for each database):\n"
        "#   add_column TABLE COLUMN TYPE [DEFAULT VALUE]\n"
        "#   drop_column TABLE COLUMN                 (dropped at contract)\n"
        "#   rename_column TABLE OLD NEW [TYPE]       (synced by triggers until contract)\n"
        "#   change_type TABLE COLUMN NEWCOLUMN TYPE\n"
        "#   add_index TABLE NAME [UNIQUE] COLUMN[, COLUMN...]\n"
        "#   add_constraint TABLE NAME CHECK (EXPRESSION)\n"
        "#   key TABLE COLUMN[,COLUMN...]             (the key backfills walk; default id)\n"
        "#   drop_index TABLE NAME                    (dropped at contract)\n"
        "#   add_unique TABLE NAME COLUMN[, COLUMN...]\n"
        "#   add_primary_key TABLE NAME COLUMN[, COLUMN...]\n"
        "#   add_foreign_key TABLE NAME (COLUMNS) REFERENCES OTHER [(COLUMNS)] [ON DELETE ...]\n"
        "#   reindex TABLE INDEX\n"
        "#   set_not_null TABLE COLUMN\n"
        "#   rename_table OLD NEW                     (OLD stays a writable view until contract)\n"
        "# Raw SQL goes in sections: [expand], [backfill TABLE [KEY]] (one statement using\n"
        "# :lo and :hi, run per batch), [contract] and [abort] (undoes [expand]); mark\n"
        "# [expand no-transaction] (or contract, abort) to run each statement alone, outside\n"
        "# a transaction (CREATE INDEX CONCURRENTLY...).\n",
        next, name);
    if (fclose(f) != 0)
        return err_errno(e, errno, "cannot write '%s'", path);
    fprintf(out, "%s\n", path);
    return 0;
}
