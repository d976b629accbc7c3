package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/010_b.up.sql": {Data: []byte("B")},
		"m/002_a.up.sql": {Data: []byte("A")},
		"m/readme.txt":   {Data: []byte("ignored")},
	}
	ms, err := Load(fsys, "m", "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 2 || ms[0].SQL != "A" || ms[1].Version != 10 || ms[1].Name != "010_b.up.sql" {
		t.Fatalf("loaded %+v", ms)
	}
	for name, bad := range map[string]fstest.MapFS{
		"no version":     {"m/x_a.up.sql": {}},
		"zero version":   {"m/000_a.up.sql": {}},
		"shared version": {"m/001_a.up.sql": {}, "m/1_b.up.sql": {}},
	} {
		if _, err := Load(bad, "m", "test"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
