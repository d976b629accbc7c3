package sqlite

import "os"

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
