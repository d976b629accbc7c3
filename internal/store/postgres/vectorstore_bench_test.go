package postgres

import (
	"testing"

	"github.com/assistd/assistd/internal/store/storetest"
)

// BenchmarkIngest: see storetest.BenchIngest.
func BenchmarkIngest(b *testing.B) { storetest.BenchIngest(b, newBenchStore) }
