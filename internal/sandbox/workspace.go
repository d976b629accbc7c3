package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"syscall"
)

// maxOutputFiles bounds the files returned by one execution.
const maxOutputFiles = 100

type fileState struct {
	size  int64
	mtime int64
}

// snapshotEntries bounds a snapshot's walk: a workspace over
// MaxWorkspaceFiles is ended before it grows much beyond.
const snapshotEntries = 1 << 20

// snapshot lists the regular files under dir (never following symlinks).
func snapshot(dir string) (map[string]fileState, int, error) {
	files := make(map[string]fileState)
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		n++
		if n > snapshotEntries {
			return fs.SkipAll
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = fileState{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("sandbox: workspace: %w", err)
	}
	return files, n, nil
}

// usage is the disk space used under dir, counting blocks (a workspace with
// more than maxEntries entries counts as full: a million empty files is also
// a way to fill a disk).
func usage(dir string, maxEntries int) (int64, error) {
	var total int64
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n++
		if n > maxEntries {
			total = 1 << 62
			return fs.SkipAll
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		size := fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			size = max(st.Blocks*512, 0)
		}
		total += size
		return nil
	})
	return total, err
}

// changedFiles reads the regular files that are new or changed since
// before, through an os.Root so that no symlink leads outside dir.
func changedFiles(dir string, before map[string]fileState, limit int64) ([]OutputFile, error) {
	after, _, err := snapshot(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, st := range after {
		if old, ok := before[name]; !ok || old != st {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	sort.Strings(names)
	if len(names) > maxOutputFiles {
		names = names[:maxOutputFiles]
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: workspace: %w", err)
	}
	defer root.Close()
	var out []OutputFile
	var total int64
	for _, name := range names {
		data, err := readRegular(root, name, limit-total)
		if err != nil {
			continue // gone or replaced meanwhile, or over the limit
		}
		total += int64(len(data))
		out = append(out, OutputFile{Path: path.Join("/mnt/data", name), Data: data})
	}
	return out, nil
}

func readRegular(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > limit {
		return nil, errors.New("too large")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errors.New("too large")
	}
	return data, nil
}

// removeChanged removes the files that are new or changed since before
// (after a workspace overflow) and returns how many it removed.
func removeChanged(dir string, before map[string]fileState) int {
	after, _, err := snapshot(dir)
	if err != nil {
		return 0
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0
	}
	defer root.Close()
	n := 0
	for name, st := range after {
		if old, ok := before[name]; !ok || old != st {
			if root.Remove(name) == nil {
				n++
			}
		}
	}
	// Entries that are not regular files (directories full of files beyond
	// maxEntries, fifos) are removed when new too.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Type().IsRegular() {
			continue
		}
		if _, ok := before[e.Name()]; !ok && !hasPrefix(before, e.Name()+"/") {
			if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
				n++
			}
		}
	}
	return n
}

func hasPrefix(m map[string]fileState, prefix string) bool {
	for k := range m {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
