package sandbox

// SessionPID is the host pid of the session process of key (bwrap), or 0.
func (m *Manager) SessionPID(key string) int {
	m.mu.Lock()
	s := m.sessions[key]
	m.mu.Unlock()
	if s == nil {
		return 0
	}
	if p := s.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// SessionCgroups are the directories of the cgroup of the session process
// of key (one per hierarchy), or nil.
func (m *Manager) SessionCgroups(key string) []string {
	m.mu.Lock()
	s := m.sessions[key]
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	if p := s.current(); p != nil && p.cg != nil {
		return append([]string(nil), p.cg.dirs...)
	}
	return nil
}

// CgroupReason says why CgroupMode is none.
func (m *Manager) CgroupReason() string { return m.cg.reason }
