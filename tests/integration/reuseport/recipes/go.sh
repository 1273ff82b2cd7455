# examples/reuseport/app.go, built offline with the standard library only (Debian's
# golang-go): net.ListenConfig sets SO_REUSEPORT on $BATON_LISTEN's socket; TERM runs
# http.Server.Shutdown.
NEEDS=(go)
RUN=(--mode reuseport --ready http:/ --drain-timeout 30)
GO_APP=$T_DIR/goapp
GOCACHE=$T_DIR/gocache GOPATH=$T_DIR/gopath GOPROXY=off GO111MODULE=off \
    go build -o "$GO_APP" "$RP_APP/app.go" >"$T_DIR/go-build.log" 2>&1 ||
    fail "go build failed: $(cat "$T_DIR/go-build.log")"
release() { CMD=("$GO_APP" -version "$1"); }
# A release started with a flag it does not know: the flag package exits 2.
broken_release() { CMD=("$GO_APP" -no-such-flag); }
ROLLBACK_REASON='worker [0-9]+ exited with status 2 before it was ready'
