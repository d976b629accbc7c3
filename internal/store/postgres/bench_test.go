package postgres

import (
	"testing"

	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/storetest"
)

// The benchmark bodies are shared by every backend: see
// internal/store/storetest/bench.go.

// newBenchStore returns a store in a fresh schema of the test
// database, migrated.
func newBenchStore(b *testing.B) store.Store { return openTest(b) }

func BenchmarkMessageCreateParallel(b *testing.B) {
	storetest.BenchMessageCreateParallel(b, newBenchStore)
}

func BenchmarkMessageList20(b *testing.B) { storetest.BenchMessageList20(b, newBenchStore) }

func BenchmarkRunClaim(b *testing.B) { storetest.BenchRunClaim(b, newBenchStore) }

func BenchmarkRunSaveParallel(b *testing.B) { storetest.BenchRunSaveParallel(b, newBenchStore) }
