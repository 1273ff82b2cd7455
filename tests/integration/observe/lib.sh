# Helpers for the tests of the admin listener (source after tests/lib/master.sh): an
# admin token file, HTTP status codes, promtool, and a real Prometheus server on a free
# loopback port with its data in $T_DIR.

# token_file PATH: writes a fresh admin token (mode 0600) to PATH; prints the token.
token_file() {
    local t
    t=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    (umask 077 && echo "$t" >"$1")
    echo "$t"
}

# http_status METHOD URL [curl args...]: the status code of one request.
http_status() {
    local m=$1 u=$2
    shift 2
    curl -s -o /dev/null -w '%{http_code}' -X "$m" --max-time 10 "$@" "$u"
}

# promtool_ok URL: the exposition at URL passes `promtool check metrics` (the lint
# that Prometheus's own tooling applies: names, types, units, _total on counters).
promtool_ok() {
    local out
    curl -sf --max-time 10 "$1" >"$T_DIR/scrape.txt" || fail "cannot fetch $1"
    out=$(promtool check metrics <"$T_DIR/scrape.txt" 2>&1) || fail "promtool check metrics on $1: $out"
    [ -z "$out" ] || fail "promtool check metrics on $1 warns: $out"
}

# prom_start JOB=HOST:PORT...: Prometheus scraping each target every 500 ms; PROM_URL.
prom_start() {
    local port cfg=$T_DIR/prometheus.yml t
    port=$(free_port)
    PROM_URL=http://127.0.0.1:$port
    {
        echo "global: {scrape_interval: 500ms, scrape_timeout: 500ms, evaluation_interval: 1s}"
        echo "scrape_configs:"
        for t in "$@"; do
            echo "  - job_name: ${t%%=*}"
            echo "    static_configs: [{targets: ['${t#*=}']}]"
        done
    } >"$cfg"
    prometheus --config.file="$cfg" --storage.tsdb.path="$T_DIR/prom" \
        --web.listen-address="127.0.0.1:$port" >>"$T_DIR/prometheus.out" 2>&1 &
    track $!
    wait_for 60 curl -sf "$PROM_URL/-/ready" || fail "prometheus did not become ready"
}

# prom_value QUERY: the value of an instant query with one result ("" if none).
prom_value() {
    curl -s --max-time 5 -G "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
        jq -r 'if .status == "success" and (.data.result | length) == 1 then .data.result[0].value[1] else "" end'
}
prom_is() { [ "$(prom_value "$1")" = "$2" ]; }

# metric_value URL SAMPLE: the value of one sample (name{labels} as exposed) in the
# exposition at URL ("" if absent).
metric_value() {
    curl -sf --max-time 10 "$1" | awk -v s="$2" 'index($0, s " ") == 1 { print $2; exit }'
}
metric_is() { [ "$(metric_value "$1" "$2")" = "$3" ]; }
