#!/usr/bin/env bash
# Writers while a set-based sweep (one SQL statement per batch) runs, on SQLite and
# PostgreSQL: 8 processes of an app in the middle of its upgrade increment counters;
# the old app's instances write version-1 documents (through a chain that knows version
# 1 only) until the sweep has upgraded them, the new app's upgrade what they read, ahead
# of the sweep. Every counter equals the increments made (0 lost) and every document is
# exactly what the chain makes of it (a document upgraded twice would differ). Two chains: one whose plan has a stage, so the
# UPDATE compares rev (chain.json: a split into 'addresses'), and one done by a single
# UPDATE whose WHERE checks the version (chain_flat.json).
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/pg.sh"
. "$(dirname "$0")/lib.sh"
pg_start
lz_cc mixed_writer
printf '{"versions": []}\n' >"$T_DIR/old.json" # the old app: version 1 only

N=1000 WRITERS=8 AFTER=20 MAX=20000 # MAX: a cap only; writers stop AFTER the sweep
# the old app's documents, and the new app's (every 20th each, apart)
old_ids=() new_ids=()
for i in $(seq 3 20 $((N - 1))); do old_ids+=("$(printf 'd%05d' "$i")"); done
for i in $(seq 13 20 $((N - 1))); do new_ids+=("$(printf 'd%05d' "$i")"); done
# expected CHAIN COUNTS: the documents the chain makes, with the counters made
expected() {
    awk -v n=$N -v c="$1" 'FNR == NR { k[$1] = $2; next } END { for (i = 0; i < n; i++) {
        id = sprintf("d%05d", i); m = (id in k) ? k[id] : 0
        if (c == "chain")
            printf "%s\t{\"_version\":4,\"full_name\":\"user %d\",\"counter\":%d,\"tmp\":{\"keep\":1},\"name\":\"\"}\n", id, i, m
        else
            printf "%s\t{\"_version\":3,\"full_name\":\"user %d\",\"counter\":%d,\"legacy\":true,\"tmp\":{\"cache\":%d,\"keep\":1},\"addr\":\"%d Main St\",\"street\":\"Oslo\"}\n", id, i, m, i, i } }' "$2" /dev/null | lz_norm
}

for store in ${STORES:-sqlite postgres}; do # STORES, CHAINS: run a part
    for c in ${CHAINS:-chain chain_flat}; do
        users=$(lz_url $store "u_$c")
        run=$T_DIR/$store-$c
        mkdir -p "$run"
        lz_seed $N | "$BATON" lazy load --store "$users" >/dev/null 2>>"$T_DIR/baton.log" || fail "$store: load"
        pids=()
        for w in $(seq 1 $WRITERS); do
            app=$T_DIR/old.json ids=("${old_ids[@]}")
            [ $((w % 4)) = 0 ] && app=- ids=("${new_ids[@]}") # one in four: the new app
            "$T_DIR/mixed_writer" "$users" "$app" "$LZ_HERE/$c.json" "$run/ready$w" "$run/stop" \
                $AFTER $MAX "${ids[@]}" >"$run/w$w.out" 2>>"$T_DIR/writers.log" &
            pids+=($!)
            track $!
        done
        # the sweep starts once every writer has written a version-1 document
        wait_for 120 bash -c "[ \$(ls $run | grep -c ready) = $WRITERS ]" || fail "$store: writers did not start"
        "$BATON" lazy sweep --json --batch 100 --rate 1500 --store "$users" --chain "$LZ_HERE/$c.json" \
            >"$run/sweep.out" 2>>"$T_DIR/baton.log" || fail "$store $c: sweep failed"
        touch "$run/stop"
        for p in "${pids[@]}"; do wait "$p" || fail "$store $c: a writer failed: $(tail -3 "$T_DIR/writers.log")"; done
        jq -e '.complete' "$run/sweep.out" >/dev/null || fail "$store $c: sweep incomplete: $(cat "$run/sweep.out")"
        cat "$run"/w*.out | awk '{ n[$1] += $2 + $3; o += $2; w += $3 } END {
            for (k in n) print k, n[k] > "/dev/stderr"; print o, w }' 2>"$run/made" >"$run/split"
        read -r old new <"$run/split"
        [ "$old" -gt 0 ] && [ "$new" -gt 0 ] ||
            fail "$store $c: the writers did not overlap the sweep (old $old, new $new increments)"
        expected "$c" "$run/made" >"$run/want"
        "$BATON" lazy dump --store "$users" | lz_norm >"$run/got"
        cmp -s "$run/want" "$run/got" ||
            fail "$store $c: documents differ from what the chain and the writers made (lost or doubled): $(diff "$run/want" "$run/got" | head -4)"
        if [ $c = chain ]; then
            [ "$("$BATON" lazy dump --store "$(lz_url $store addresses)" | grep -c .)" -ge $N ] || fail "$store: parts missing"
        fi
        log "$store $c: $old increments as the old app, $new as the new one, 0 lost; sweep $(jq -c '{upgraded, conflicts, passes}' "$run/sweep.out")"
    done
done
