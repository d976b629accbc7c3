package schema

import (
	"crypto/rand"
	"strings"
)

// ID prefixes, as OpenAI uses them.
const (
	PrefixAssistant = "asst_"
	PrefixThread    = "thread_"
	PrefixMessage   = "msg_"
	PrefixRun       = "run_"
	PrefixStep      = "step_"
	PrefixCall      = "call_"
	PrefixVector    = "vs_"
	PrefixBatch     = "vsfb_"
	PrefixFile      = "file-"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns prefix followed by 24 random base62 characters (~142 bits),
// unguessable so that ids reveal nothing about other objects.
func NewID(prefix string) string {
	const n = 24
	var b strings.Builder
	b.Grow(len(prefix) + n)
	b.WriteString(prefix)
	buf := make([]byte, n)
	for filled := 0; filled < n; {
		rand.Read(buf)
		for _, c := range buf {
			// Rejection sampling keeps the alphabet uniform.
			if c >= 248 {
				continue
			}
			b.WriteByte(idAlphabet[int(c)%len(idAlphabet)])
			filled++
			if filled == n {
				break
			}
		}
	}
	return b.String()
}

// HasPrefix reports whether id looks like an id of the given kind.
func HasPrefix(id, prefix string) bool {
	return len(id) > len(prefix) && len(id) <= 128 && strings.HasPrefix(id, prefix)
}
