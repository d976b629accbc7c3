// Package migration reads a store backend's versioned SQL migrations
// (embedded NNN_name.up.sql files), so every backend numbers and orders them
// the same way.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one NNN_name.up.sql file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load returns the *.up.sql files of dir in fsys sorted by version. backend
// names the store in errors. Versions must be positive and unique.
func Load(fsys fs.FS, dir, backend string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.up.sql"))
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := make(map[int]string)
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: migration %s: name must start with a positive NNN_ version", backend, base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s: migrations %s and %s share version %d", backend, prev, base, v)
		}
		seen[v] = base
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
