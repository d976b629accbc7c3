package schema

import (
	"encoding/json"
	"unicode/utf8"
)

// Metadata limits from the spec's Metadata schema.
const (
	MaxMetadataPairs    = 16
	MaxMetadataKeyLen   = 64
	MaxMetadataValueLen = 512
)

// Metadata is a set of up to 16 string key-value pairs. It is encoded as {}
// when empty, as OpenAI returns it.
type Metadata map[string]string

// MarshalJSON encodes nil as {}.
func (m Metadata) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]string(m))
}

// Validate checks the spec's limits on pair count and key/value lengths.
func (m Metadata) Validate(param string) error {
	if len(m) > MaxMetadataPairs {
		return Invalid(param, "Invalid '%s': too many properties. Expected an object with at most %d properties, but got an object with %d properties instead.", param, MaxMetadataPairs, len(m))
	}
	for k, v := range m {
		if utf8.RuneCountInString(k) > MaxMetadataKeyLen {
			return Invalid(param, "Invalid '%s': metadata key '%s' is too long. Expected a string with maximum length %d.", param, k, MaxMetadataKeyLen)
		}
		if utf8.RuneCountInString(v) > MaxMetadataValueLen {
			return Invalid(param+"."+k, "Invalid '%s.%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", param, k, MaxMetadataValueLen, utf8.RuneCountInString(v))
		}
	}
	return nil
}
