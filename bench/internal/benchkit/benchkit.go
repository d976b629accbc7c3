// Package benchkit is the plumbing the benchmark programs under bench/
// share: a temporary working directory, building the assistd binary,
// creating a key, starting `assistd serve` on a free loopback port, reading
// figures of a process from /proc, percentiles, and the target/measured
// table the programs print.
package benchkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Main runs a benchmark program's body and exits with its code; an error is
// printed after prog and exits 1.
func Main(prog string, run func() (int, error)) {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, prog+":", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// TempDir creates a temporary directory named after pattern (see
// os.MkdirTemp). cleanup removes it, unless keep is set: then its path is
// printed and it stays.
func TempDir(pattern string, keep bool) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "keeping", dir)
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// Build returns bin when it is set; otherwise it builds ./cmd/assistd into
// dir and returns the binary's path.
func Build(bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "assistd")
	fmt.Fprintln(os.Stderr, "building assistd ...")
	build := exec.Command("go", "build", "-o", bin, "github.com/assistd/assistd/cmd/assistd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}

// Prepare is TempDir then Build into it: a benchmark's working directory
// and the assistd binary it runs (bin when set).
func Prepare(pattern string, keep bool, bin string) (dir, binPath string, cleanup func(), err error) {
	if dir, cleanup, err = TempDir(pattern, keep); err != nil {
		return "", "", nil, err
	}
	if binPath, err = Build(bin, dir); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return dir, binPath, cleanup, nil
}

// Env is the environment without the variables whose names start with one
// of drop (so that the benchmark measures the defaults), followed by extra.
func Env(drop []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, drop) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
