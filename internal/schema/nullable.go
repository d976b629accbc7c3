package schema

import (
	"bytes"
	"encoding/json"
	"errors"
)

var errTrailingData = errors.New("unexpected data after the JSON value")

// Field is a request field that distinguishes "absent" from "null" from a
// value, which modify requests need: absent leaves the stored value alone,
// null clears it, a value replaces it.
type Field[T any] struct {
	Set   bool // the key was present in the JSON
	Null  bool // the key was present with the value null
	Value T
}

// UnmarshalJSON records presence and nullness, then decodes the value strictly.
func (f *Field[T]) UnmarshalJSON(data []byte) error {
	f.Set = true
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		f.Null = true
		return nil
	}
	return DecodeStrict(data, &f.Value)
}

// Ptr returns a pointer to the value, or nil when absent or null.
func (f Field[T]) Ptr() *T {
	if !f.Set || f.Null {
		return nil
	}
	v := f.Value
	return &v
}

// DecodeStrict decodes one JSON value into v, refusing unknown object keys
// and trailing data. Custom unmarshalers use it so strictness reaches every
// nesting level (encoding/json does not pass DisallowUnknownFields down).
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailingData
	}
	return nil
}
