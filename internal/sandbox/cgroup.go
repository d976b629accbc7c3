package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The cgroup modes of a Manager (CgroupMode).
const (
	CgroupV1   = "v1"
	CgroupV2   = "v2"
	CgroupNone = "none"
)

// cgroupOverhead is the processes of bubblewrap itself in a session's
// cgroup (its monitor and the sandbox's init), on top of MaxProcs.
const cgroupOverhead = 2

// cgroups is where a Manager makes its sessions' cgroups, found once by
// NewManager: under the server's own cgroup in each hierarchy, or under the
// hierarchy's root when that fails.
type cgroups struct {
	mode string
	// v1: the parents in the memory and pids hierarchies; v2: parent only.
	parent, pidsParent string
	reason             string // why mode is none
}

// cgroup is one session process's cgroup: a directory per hierarchy.
type cgroup struct {
	v2   bool
	dirs []string
}

// mountInfo is one cgroup mount of /proc/self/mountinfo.
type mountInfo struct {
	root, point, fstype string
	opts                []string
}

func readCgroupMounts() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountInfo
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 || (b[0] != "cgroup" && b[0] != "cgroup2") {
			continue
		}
		out = append(out, mountInfo{root: a[3], point: a[4], fstype: b[0], opts: strings.Split(b[2], ",")})
	}
	return out, sc.Err()
}

// readOwnCgroups maps each v1 controller (and "" for the v2 hierarchy) to
// this process's cgroup path.
func readOwnCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}

// candidates are the parent directories to try in a hierarchy mounted at
// m for a process whose cgroup there is path: its own, then the root.
func (m mountInfo) candidates(path string) []string {
	rel := path
	if m.root != "/" {
		if r, ok := strings.CutPrefix(path, m.root); ok {
			rel = r
		} else {
			rel = "/"
		}
	}
	own := filepath.Join(m.point, rel)
	if own == m.point {
		return []string{own}
	}
	return []string{own, m.point}
}

// findCgroups decides the cgroup mode: v2 when the unified hierarchy has
// the memory and pids controllers and a parent where children with limits
// can be made, else v1 with writable memory and pids hierarchies, else none.
func findCgroups() cgroups {
	mounts, err := readCgroupMounts()
	if err != nil {
		return cgroups{mode: CgroupNone, reason: "reading mountinfo: " + err.Error()}
	}
	own, err := readOwnCgroups()
	if err != nil {
		return cgroups{mode: CgroupNone, reason: "reading /proc/self/cgroup: " + err.Error()}
	}
	var reasons []string
	for _, m := range mounts {
		if m.fstype != "cgroup2" {
			continue
		}
		ctrl, err := os.ReadFile(filepath.Join(m.point, "cgroup.controllers"))
		if err != nil || !slices.Contains(strings.Fields(string(ctrl)), "memory") || !slices.Contains(strings.Fields(string(ctrl)), "pids") {
			continue // a hybrid setup's unified hierarchy without controllers
		}
		for _, dir := range m.candidates(own[""]) {
			if err := probeV2(dir); err != nil {
				reasons = append(reasons, err.Error())
				continue
			}
			return cgroups{mode: CgroupV2, parent: dir}
		}
	}
	var mem, pids []string
	for _, m := range mounts {
		if m.fstype != "cgroup" {
			continue
		}
		if slices.Contains(m.opts, "memory") && mem == nil {
			mem = m.candidates(own["memory"])
		}
		if slices.Contains(m.opts, "pids") && pids == nil {
			pids = m.candidates(own["pids"])
		}
	}
	if mem != nil && pids != nil {
		g := cgroups{mode: CgroupV1}
		for _, dir := range mem {
			if err := probeV1(dir, "memory.limit_in_bytes", "-1"); err != nil {
				reasons = append(reasons, err.Error())
				continue
			}
			g.parent = dir
			break
		}
		for _, dir := range pids {
			if err := probeV1(dir, "pids.max", "max"); err != nil {
				reasons = append(reasons, err.Error())
				continue
			}
			g.pidsParent = dir
			break
		}
		if g.parent != "" && g.pidsParent != "" {
			return g
		}
	} else if len(reasons) == 0 {
		reasons = append(reasons, "no cgroup v2 hierarchy with the memory and pids controllers and no v1 memory and pids hierarchies are mounted")
	}
	return cgroups{mode: CgroupNone, reason: strings.Join(reasons, "; ")}
}

func probeV1(parent, file, value string) error {
	dir := filepath.Join(parent, "assistd-probe-"+randomHex(6))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer os.Remove(dir)
	return writeFile(dir, file, value)
}

func probeV2(parent string) error {
	ctrl, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	have := strings.Fields(string(ctrl))
	if !slices.Contains(have, "memory") || !slices.Contains(have, "pids") {
		// Fails (EBUSY) when parent has processes of its own and is not
		// the root: the "no internal processes" rule.
		if err := writeFile(parent, "cgroup.subtree_control", "+memory +pids"); err != nil {
			return err
		}
	}
	dir := filepath.Join(parent, "assistd-probe-"+randomHex(6))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := writeFile(dir, "memory.max", "max"); err != nil {
		return err
	}
	return writeFile(dir, "pids.max", "max")
}

func writeFile(dir, name, value string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644)
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// create makes the cgroup name with a memory limit for all its processes
// together (swap included, or none) and a limit on their number.
func (g *cgroups) create(name string, memBytes int64, pids int) (cg *cgroup, err error) {
	mem := strconv.FormatInt(memBytes, 10)
	maxPids := strconv.Itoa(pids)
	cg = &cgroup{v2: g.mode == CgroupV2}
	defer func() {
		if err != nil {
			cg.remove()
			cg, err = nil, fmt.Errorf("sandbox: cgroup: %w", err)
		}
	}()
	mkdir := func(parent string) (string, error) {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		cg.dirs = append(cg.dirs, dir)
		return dir, nil
	}
	switch g.mode {
	case CgroupV2:
		dir, err := mkdir(g.parent)
		if err != nil {
			return nil, err
		}
		if err := writeFile(dir, "memory.max", mem); err != nil {
			return nil, err
		}
		if exists(dir, "memory.swap.max") {
			if err := writeFile(dir, "memory.swap.max", "0"); err != nil {
				return nil, err
			}
		}
		if err := writeFile(dir, "pids.max", maxPids); err != nil {
			return nil, err
		}
	case CgroupV1:
		dir, err := mkdir(g.parent)
		if err != nil {
			return nil, err
		}
		if err := writeFile(dir, "memory.limit_in_bytes", mem); err != nil {
			return nil, err
		}
		if exists(dir, "memory.memsw.limit_in_bytes") { // after the limit: memsw ≥ limit
			if err := writeFile(dir, "memory.memsw.limit_in_bytes", mem); err != nil {
				return nil, err
			}
		}
		if dir, err = mkdir(g.pidsParent); err != nil {
			return nil, err
		}
		if err := writeFile(dir, "pids.max", maxPids); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("no cgroups")
	}
	return cg, nil
}

// enter moves the process pid into the cgroup.
func (cg *cgroup) enter(pid int) error {
	for _, dir := range cg.dirs {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("sandbox: cgroup: %w", err)
		}
	}
	return nil
}

// remove kills what is left in the cgroup and removes it, retrying briefly
// while its processes finish exiting.
func (cg *cgroup) remove() error {
	if cg == nil {
		return nil
	}
	var errs []error
	for _, dir := range cg.dirs {
		errs = append(errs, removeCgroupDir(dir, cg.v2))
	}
	cg.dirs = nil
	return errors.Join(errs...)
}

func removeCgroupDir(dir string, v2 bool) error {
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; ; i++ {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: removing cgroup %s: %w", dir, err)
		}
		if i == 5 { // still busy after ~50 ms: kill what is left
			if v2 && exists(dir, "cgroup.kill") {
				_ = writeFile(dir, "cgroup.kill", "1")
			} else if data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(data)) {
					if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}
