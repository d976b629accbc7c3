package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// cpuSnap is the CPU time used so far by each party of the benchmark.
type cpuSnap struct {
	at       time.Time
	replicas int64         // ticks, all replicas together
	postgres map[int]int64 // ticks per postgres process
	self     time.Duration // this process: the clients and the model
	pgSeen   bool          // postgres processes are visible (same machine)
	busy     int64         // ticks the whole machine was not idle (/proc/stat)
}

// cpuShare is the CPU a phase used, in cores (CPU seconds per second).
type cpuShare struct {
	replicas, postgres, self float64
	pgSeen                   bool
	// machine is what every process on the machine used, these and others.
	machine float64
}

func (s cpuShare) String() string {
	pg := "n/a"
	if s.pgSeen {
		pg = fmt.Sprintf("%.2f", s.postgres)
	}
	return fmt.Sprintf("%.2f / %s / %.2f of %.2f", s.replicas, pg, s.self, s.machine)
}

func (b *bench) cpu() cpuSnap {
	s := cpuSnap{at: time.Now(), postgres: map[int]int64{}}
	for _, pid := range b.pids {
		if _, t, err := procTicks(pid); err == nil {
			s.replicas += t
		}
	}
	// PostgreSQL forks a backend per connection: sum every process named
	// postgres (the server's own included). Backends that both start and
	// end inside a phase are missed; the replicas' pools keep theirs.
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if comm, t, err := procTicks(pid); err == nil && comm == "postgres" {
			s.postgres[pid] = t
			s.pgSeen = true
		}
	}
	s.busy = machineBusy()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// since is the CPU used from before to s, per second of wall time.
func (s cpuSnap) since(before cpuSnap) cpuShare {
	wall := s.at.Sub(before.at).Seconds()
	if wall <= 0 {
		return cpuShare{}
	}
	var pg int64
	for pid, t := range s.postgres {
		pg += t - before.postgres[pid]
	}
	return cpuShare{
		replicas: float64(s.replicas-before.replicas) / userHZ / wall,
		postgres: float64(pg) / userHZ / wall,
		self:     (s.self - before.self).Seconds() / wall,
		pgSeen:   s.pgSeen,
		machine:  float64(s.busy-before.busy) / userHZ / wall,
	}
}

// machineBusy is the ticks all CPUs spent other than idle or waiting for
// I/O since boot (the cpu line of /proc/stat), 0 when unreadable.
func machineBusy() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy
}

// procTicks reads a process's command name and user+system CPU time in
// ticks from /proc/PID/stat.
func procTicks(pid int) (comm string, ticks int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	// The name is in parentheses and may hold spaces; the fields after the
	// last ')' start with the state (field 3), so utime and stime (fields
	// 14 and 15) are at 11 and 12.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return "", 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return s[open+1 : end], u + st, nil
}
