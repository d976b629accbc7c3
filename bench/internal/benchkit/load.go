package benchkit

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Rate is what a closed-loop load measured.
type Rate struct {
	PerSec     float64
	OK, Failed int64
	// Latencies of the successful calls, sorted.
	Latencies []time.Duration
}

// maxFailures stops a load that keeps failing.
const maxFailures = 1000

// ClosedLoop calls do from workers goroutines, each as soon as its previous
// call returned, until d has passed, each worker has made perWorker calls,
// or more than maxFailures calls failed; do gets the worker's number and
// its call count. The first error is printed (with what) and the load
// fails only when no call succeeded.
func ClosedLoop(what string, workers int, d time.Duration, perWorker int, do func(w, i int) error) (Rate, error) {
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, workers)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples := make([]time.Duration, 0, 1<<12)
			for i := 0; i < perWorker; i++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if err := do(w, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					if failed.Add(1) > maxFailures {
						break
					}
					continue
				}
				samples = append(samples, time.Since(t0))
				ok.Add(1)
			}
			lat[w] = samples
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "first %s error: %v\n", what, e)
	}
	if ok.Load() == 0 {
		return Rate{}, fmt.Errorf("no %s succeeded: %v", what, firstErr.Load())
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return Rate{PerSec: float64(ok.Load()) / elapsed.Seconds(), OK: ok.Load(), Failed: failed.Load(), Latencies: all}, nil
}
