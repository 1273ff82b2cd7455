#!/usr/bin/env bash
# Runs one case of tests/integration/migrate/cases/: `baton migrate` on a real SQLite or
# PostgreSQL database, with its migrations, seed and expectations as data
# (tests/lib/case.sh). Usage: driver.sh CASE-FILE, as tests/integration/run.sh does.
# The steps:
#
#   db sqlite|postgres [...]   (first step) a fresh database; with both, the whole
#                       case runs once on each. SQL steps may write {series N} for the
#                       rows i = 1..N (a subquery with one column, i), on either engine
#   sql SQL             runs SQL on the database
#   migration ID LINE   appends LINE to ID.migration in the case's migrations folder
#   migrate VERB [ARGS] `baton migrate VERB ARGS` must exit 0
#   expect SQL => ROWS  the query's rows, joined by ',', are exactly ROWS
#   runners N VERB STEPS   N concurrent `baton migrate VERB` runners all exit 0, and
#                       the steps of VERB were logged STEPS times across them (each by
#                       the runner that ran it: none twice)
#   dump SQL            a query whose rows are part of what a finished run must hold
#   kill-rounds MIN NMIG   a crash-free run of expand and contract (the reference),
#                       then rounds from the same seed whose runners are killed -9 at
#                       random points until all NMIG migrations are contracted, until
#                       MIN kills: each round must end with the reference's dump
#   reference-has LINE  the crash-free run's dump holds LINE
#   rename-live TABLE OLD NEW ID ROWS   an old app writing TABLE.OLD and a new app
#                       writing TABLE.NEW through the expand, backfill and contract of
#                       migration ID (a rename_column) on ROWS seeded rows: 0 errors in
#                       either, both columns equal on every row behind the backfill and
#                       everywhere before contract, no row lost, OLD gone after it
#   log-has TEXT        the migrate runners' log holds TEXT
T_NAME=migrate.$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
. "$(dirname "$0")/../../lib/case.sh"
. "$(dirname "$0")/../../lib/pg.sh"
. "$(dirname "$0")/lib.sh"
CASE_TEXT_STEPS="sql migration expect dump reference-has log-has"
MD_ENGINE=     # sqlite or postgres, this pass
MD_URL=        # the database of this pass (the seed of kill-rounds)
MD_M=          # the migrations folder of this pass
MD_DUMPS=()
# --probe off: these runs test crash safety and exactly-once batches, not pacing (the
# throttle would stretch them); batches of 25 rows give the kills of kill-rounds many
# batch boundaries to land between (a backfill of 6000 rows is 240 batches)
MD_OPTS=(--batch-size 25 --batch-max 25 --batch-sleep-ms 4 --wait-ms 60000 --probe off)
# concurrent runners queue for the lease: on a busy machine the last waits long, and
# batches adapting to a 50 ms target would shrink to a few rows each
MD_RUNNER_OPTS=(--batch-size 100 --batch-max 100 --batch-sleep-ms 2 --time-target 1s --wait 10m
    --probe off)

step_db() { [ "$CASE_AT" = 0 ] || fail "$(case_where): db comes first"; }

# md_open ENGINE: the fresh database and migrations folder of one pass.
md_open() {
    MD_ENGINE=$1 MD_M=$T_DIR/m-$1 MD_DUMPS=()
    mkdir -p "$MD_M"
    case "$1" in
    sqlite)
        # the database files live on tmpfs: a kill -9 loses nothing the page cache holds,
        # and a shared machine's fsyncs would make each batch take seconds
        MD_DB_DIR=$(mktemp -d /dev/shm/baton-test.XXXXXX 2>/dev/null || echo "$T_DIR")
        [ "$MD_DB_DIR" = "$T_DIR" ] || on_exit "rm -rf '$MD_DB_DIR'"
        MD_URL=sqlite:$MD_DB_DIR/seed.db
        sqlite3 "$MD_DB_DIR/seed.db" "PRAGMA journal_mode=WAL" >/dev/null || fail "cannot create $MD_DB_DIR/seed.db"
        ;;
    postgres)
        [ -n "${PG_URL:-}" ] || pg_start
        sql "$PG_URL" "CREATE DATABASE seed" >/dev/null || fail "cannot create the database seed"
        MD_URL="postgres://baton@127.0.0.1:$PGPORT/seed"
        ;;
    *) fail "$(case_where): unknown database '$1' (sqlite or postgres)" ;;
    esac
    export BATON_DB=$MD_URL BATON_MIGRATIONS=$MD_M
}

# md_sql TEXT: TEXT with each {series N} written for this engine.
md_sql() {
    local s=$1 n
    while [[ "$s" =~ \{series\ ([0-9]+)\} ]]; do
        n=${BASH_REMATCH[1]}
        if [ "$MD_ENGINE" = sqlite ]; then
            s=${s/"{series $n}"/"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s)"}
        else
            s=${s/"{series $n}"/"(SELECT g AS i FROM generate_series(1, $n) g)"}
        fi
    done
    echo "$s"
}

step_sql() { sql "$MD_URL" "$(md_sql "$1")" >/dev/null || fail "$(case_where): failed"; }

step_migration() {
    local id=${1%% *}
    [ "$id" != "$1" ] || fail "$(case_where): expected migration ID LINE"
    printf '%s\n' "${1#* }" >>"$MD_M/$id.migration"
}

step_migrate() {
    "$BATON" migrate "$@" 2>>"$T_DIR/migrate.log" ||
        fail "$MD_ENGINE: baton migrate $* failed: $(grep -v ' info: ' "$T_DIR/migrate.log" | tail -1)"
}

step_expect() {
    local query=${1%% => *} want=${1#* => } got
    [ "$query" != "$1" ] || fail "$(case_where): expected expect SQL => ROWS"
    got=$(sql "$MD_URL" "$(md_sql "$query")" | paste -sd,) || fail "$(case_where): the query failed"
    [ "$got" = "$want" ] || fail "$MD_ENGINE: $query gave '$got', expected '$want'"
}

step_runners() {
    local n=${1:?runners} verb=${2:?verb} want=${3:?steps} pids=() i steps
    for ((i = 1; i <= n; i++)); do
        "$BATON" migrate "$verb" "${MD_RUNNER_OPTS[@]}" 2>"$T_DIR/$MD_ENGINE-$verb-$i.log" &
        pids+=($!)
        track $!
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" ||
            fail "$MD_ENGINE: runner $((i + 1)) of '$verb' failed: $(tail -2 "$T_DIR/$MD_ENGINE-$verb-$((i + 1)).log")"
    done
    steps=$(cat "$T_DIR/$MD_ENGINE-$verb"-*.log | grep -c " $verb step ")
    [ "$steps" = "$want" ] || fail "$MD_ENGINE: $steps '$verb' steps ran across $n runners, expected $want"
    log "$MD_ENGINE: $n '$verb' runners, each step run once"
}

step_dump() { MD_DUMPS+=("$1"); }

# md_dump URL: what a finished run holds (the rows of every dump query).
md_dump() {
    local q
    for q in "${MD_DUMPS[@]}"; do sql "$1" "$q" || echo "query failed: $q"; done
}

# md_copy N: a copy of the seed database (as it was before kill-rounds), its URL.
md_copy() {
    if [ "$MD_ENGINE" = sqlite ]; then
        cp "$MD_DB_DIR/seed.db" "$MD_DB_DIR/r$1.db"
        echo "sqlite:$MD_DB_DIR/r$1.db"
    else
        sql "$PG_URL" "CREATE DATABASE r$1 TEMPLATE seed" >/dev/null || fail "createdb r$1"
        echo "postgres://baton@127.0.0.1:$PGPORT/r$1"
    fi
}

# md_verb URL NMIG: the verb a killed run's successor runs ("" once all are contracted).
md_verb() {
    local phases
    phases=$(sql "$1" "SELECT phase FROM baton_migrations" 2>/dev/null | sort -u | tr '\n' ' ')
    if [ "$phases" = "contracted " ] && [ "$(sql "$1" "SELECT count(*) FROM baton_migrations")" = "$2" ]; then
        return
    fi
    case "$phases" in "backfilled " | "backfilled contracted " | "contracting "* | *" contracting "*)
        echo contract; return ;;
    esac
    [ "$(sql "$1" "SELECT count(*) FROM baton_migrations WHERE phase IN ('backfilled','contracting','contracted')" 2>/dev/null)" = "$2" ] &&
        echo contract || echo expand
}

# md_run_killed URL VERB WINDOW_MS: one run, killed at a random point within WINDOW_MS
# unless it finishes first (then it must have succeeded). Counts kills in MD_KILLS. After
# 5 kills in a row the next run is left to finish, so that a round ends even where a
# busy machine starts runners slower than the window.
md_run_killed() {
    BATON_DB=$1 "$BATON" migrate "$2" "${MD_OPTS[@]}" 2>>"$T_DIR/migrate.log" &
    local pid=$!
    if [ "${MD_IN_A_ROW:-0}" -lt 5 ]; then
        sleep "$(awk -v r=$((RANDOM * 32768 + RANDOM)) -v w="$3" 'BEGIN { printf "%.3f", (r % w) / 1000 }')"
        if kill -KILL $pid 2>/dev/null; then
            wait $pid 2>/dev/null
            MD_KILLS=$((MD_KILLS + 1)) MD_IN_A_ROW=$((${MD_IN_A_ROW:-0} + 1))
            return
        fi
    fi
    MD_IN_A_ROW=0
    wait $pid || fail "'baton migrate $2' failed on its own after a kill: $(tail -3 "$T_DIR/migrate.log")"
}

step_kill_rounds() {
    local min=${1:?min kills} nmig=${2:?migrations} ref t0 window round=0 runs=0 url verb
    MD_KILLS=0
    ref=$(md_copy 0)
    t0=$EPOCHREALTIME
    BATON_DB=$ref "$BATON" migrate expand "${MD_OPTS[@]}" 2>>"$T_DIR/migrate.log" || fail "reference expand failed"
    # kills land at random within half the crash-free expand (at least 450 ms, so that on
    # a busy machine, where a runner takes longer to start, they still land in the work;
    # at most 5 s, as a reference slowed by a burst of load would leave every run time
    # to finish: each run resumes where the last was killed, so kills still walk the work)
    window=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { w = (b - a) * 500; print (w < 450 ? 450 : w > 5000 ? 5000 : int(w)) }')
    BATON_DB=$ref "$BATON" migrate contract "${MD_OPTS[@]}" 2>>"$T_DIR/migrate.log" || fail "reference contract failed"
    md_dump "$ref" >"$T_DIR/ref.dump"
    while [ $MD_KILLS -lt "$min" ]; do
        round=$((round + 1))
        [ $round -le 40 ] || fail "only $MD_KILLS kills after 40 rounds"
        url=$(md_copy $round)
        while verb=$(md_verb "$url" "$nmig") && [ -n "$verb" ]; do
            runs=$((runs + 1))
            [ $runs -le 1500 ] || fail "too many runs ($runs)"
            md_run_killed "$url" "$verb" "$window"
        done
        md_dump "$url" >"$T_DIR/round$round.dump"
        diff -q "$T_DIR/ref.dump" "$T_DIR/round$round.dump" >/dev/null ||
            fail "round $round: data differs from the crash-free run: $(diff "$T_DIR/ref.dump" "$T_DIR/round$round.dump" | head -5)"
        log "round $round: $MD_KILLS kills so far, data equal to the crash-free run"
    done
    log "$MD_KILLS kill -9 in $round rounds ($runs runs, kills within $window ms of a start): every next run finished, data equal to the crash-free run"
}

step_reference_has() {
    grep -qxF -- "$1" "$T_DIR/ref.dump" || fail "the crash-free run lacks '$1': $(head -5 "$T_DIR/ref.dump")"
}

step_log_has() { grep -qF -- "$1" "$T_DIR/migrate.log" || fail "the runners' log lacks: $1"; }

. "$(dirname "$0")/rename_live.sh"

case_read "$1"
[ "${CASE_STEP[0]}" = db ] || fail "$1: the first step is db"
for engine in ${CASE_ARGS[0]}; do
    log "database: $engine"
    md_open "$engine"
    case_run
done
