package blob_test

import (
	"path/filepath"
	"testing"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/blob/blobtest"
)

func TestDiskContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		d, err := blob.NewDisk(filepath.Join(t.TempDir(), "files"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, blobtest.Options{})
}
