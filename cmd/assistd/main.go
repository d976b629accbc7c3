// Command assistd serves the OpenAI Assistants API from one binary backed by
// an embedded SQLite database. Run `assistd` without arguments for usage.
//
// main only wires the process to the operating system (signals, streams,
// exit code); everything else lives in run so that tests can drive it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default behaviour so that a
		// second Ctrl-C kills a shutdown that is taking too long.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
