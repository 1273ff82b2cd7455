// A small HTTP app written for SO_REUSEPORT, as `baton run --mode reuseport` runs it:
// it binds the first address of $BATON_LISTEN (else 127.0.0.1:$PORT) itself with
// SO_REUSEPORT (net.ListenConfig.Control, standard library only), answers GET with
// its version, and on SIGTERM stops accepting, finishes its requests and exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// SO_REUSEPORT on Linux (asm-generic/socket.h): the frozen syscall package does not
// name it (golang.org/x/sys/unix does), and this app needs the standard library only.
const soReusePort = 0xf

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	}); err != nil {
		return err
	}
	return serr
}

func main() {
	version := flag.String("version", "v1", "the version this app answers with")
	flag.Parse()
	addr := "127.0.0.1:" + os.Getenv("PORT")
	if shared := strings.Fields(os.Getenv("BATON_LISTEN")); len(shared) > 0 {
		addr = shared[0]
	}
	lc := net.ListenConfig{Control: reusePort}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "app.go: %v\n", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", *version)
		fmt.Fprintf(w, "%s\n", *version)
	})}
	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		srv.SetKeepAlivesEnabled(false)
		srv.Shutdown(context.Background()) // closes the listener, waits for requests
		close(done)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "app.go: %v\n", err)
		os.Exit(1)
	}
	<-done
	fmt.Fprintf(os.Stderr, "app.go %s: drained, exiting\n", *version)
}
