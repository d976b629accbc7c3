package schema

import (
	"encoding/json"
	"fmt"
)

// Filter types: comparisons of one attribute, and compounds of filters.
const (
	FilterEq  = "eq"
	FilterNe  = "ne"
	FilterGt  = "gt"
	FilterGte = "gte"
	FilterLt  = "lt"
	FilterLte = "lte"
	FilterIn  = "in"
	FilterNin = "nin"
	FilterAnd = "and"
	FilterOr  = "or"
)

// maxFilterDepth bounds the nesting of compound filters, so that a request
// cannot make Match recurse without limit.
const maxFilterDepth = 16

// Filter is a search's filters: a ComparisonFilter (Type eq … nin, Key,
// Value) or a CompoundFilter (Type and/or, Filters). Value is a string,
// float64 or bool, or for in/nin a []any of strings and float64s.
type Filter struct {
	Type    string
	Key     string
	Value   any
	Filters []Filter
	// hasValue records that the JSON had a value key, for Validate.
	hasValue bool
}

// IsCompound reports whether f combines other filters.
func (f *Filter) IsCompound() bool { return f.Type == FilterAnd || f.Type == FilterOr }

// UnmarshalJSON decodes either form strictly, chosen by type.
func (f *Filter) UnmarshalJSON(data []byte) error {
	var head struct {
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	var typ string
	if len(head.Type) > 0 && json.Unmarshal(head.Type, &typ) != nil {
		typ = string(head.Type) // not a string: Validate names it
	}
	if typ == FilterAnd || typ == FilterOr {
		var v struct {
			Type    string   `json:"type"`
			Filters []Filter `json:"filters"`
		}
		if err := DecodeStrict(data, &v); err != nil {
			return err
		}
		*f = Filter{Type: typ, Filters: v.Filters}
		if f.Filters == nil {
			f.Filters = []Filter{}
		}
		return nil
	}
	var v struct {
		Type  json.RawMessage `json:"type"`
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := DecodeStrict(data, &v); err != nil {
		return err
	}
	*f = Filter{Type: typ, Key: v.Key}
	if len(v.Value) > 0 {
		f.hasValue = true
		if err := json.Unmarshal(v.Value, &f.Value); err != nil {
			return err
		}
	}
	return nil
}

// MarshalJSON writes the form of f's type.
func (f Filter) MarshalJSON() ([]byte, error) {
	if f.IsCompound() {
		fs := f.Filters
		if fs == nil {
			fs = []Filter{}
		}
		return json.Marshal(struct {
			Type    string   `json:"type"`
			Filters []Filter `json:"filters"`
		}{f.Type, fs})
	}
	return json.Marshal(struct {
		Type  string `json:"type"`
		Key   string `json:"key"`
		Value any    `json:"value"`
	}{f.Type, f.Key, f.Value})
}

// Validate checks the filter tree: known types, a key and a value of the
// right shape on comparisons (in/nin take an array of strings and numbers,
// the others a string, number or boolean).
func (f *Filter) Validate(param string) error { return f.validate(param, 1) }

func (f *Filter) validate(param string, depth int) error {
	if depth > maxFilterDepth {
		return Invalid(param, "Invalid '%s': filters nested deeper than %d levels.", param, maxFilterDepth)
	}
	switch f.Type {
	case FilterAnd, FilterOr:
		for i := range f.Filters {
			if err := f.Filters[i].validate(fmt.Sprintf("%s.filters[%d]", param, i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case FilterEq, FilterNe, FilterGt, FilterGte, FilterLt, FilterLte, FilterIn, FilterNin:
	case "":
		return Invalid(param+".type", "Missing required parameter: '%s.type'.", param)
	default:
		return Invalid(param+".type", "Invalid '%s.type': expected one of 'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'and' or 'or', got %s.", param, quoteType(f.Type))
	}
	if f.Key == "" {
		return Invalid(param+".key", "Missing required parameter: '%s.key'.", param)
	}
	if !f.hasValue && f.Value == nil {
		return Invalid(param+".value", "Missing required parameter: '%s.value'.", param)
	}
	if f.Type == FilterIn || f.Type == FilterNin {
		list, ok := f.Value.([]any)
		if !ok {
			return Invalid(param+".value", "Invalid '%s.value': expected an array of strings and numbers for '%s'.", param, f.Type)
		}
		for i, x := range list {
			if _, isStr := x.(string); !isStr && !isNumber(x) {
				return Invalid(fmt.Sprintf("%s.value[%d]", param, i), "Invalid '%s.value[%d]': expected a string or a number.", param, i)
			}
		}
		return nil
	}
	switch x := f.Value.(type) {
	case string, bool:
	default:
		if !isNumber(x) {
			return Invalid(param+".value", "Invalid '%s.value': expected a string, number or boolean.", param)
		}
	}
	return nil
}

func quoteType(t string) string {
	if len(t) > 0 && (t[0] == '"' || t[0] == '{' || t[0] == '[' || (t[0] >= '0' && t[0] <= '9') || t == "true" || t == "false" || t == "null") {
		return t // a raw JSON value that was not a string
	}
	return fmt.Sprintf("%q", t)
}

// Match reports whether attributes satisfy f. Numbers compare
// numerically, strings lexically (byte order) for gt/gte/lt/lte, booleans
// only for equality; values of different kinds never match. A missing key
// fails every comparison except ne and nin, which it satisfies. An empty
// and matches everything, an empty or nothing.
func (f *Filter) Match(attrs map[string]any) bool {
	switch f.Type {
	case FilterAnd:
		for i := range f.Filters {
			if !f.Filters[i].Match(attrs) {
				return false
			}
		}
		return true
	case FilterOr:
		for i := range f.Filters {
			if f.Filters[i].Match(attrs) {
				return true
			}
		}
		return false
	}
	v, ok := attrs[f.Key]
	if !ok || v == nil {
		return f.Type == FilterNe || f.Type == FilterNin
	}
	switch f.Type {
	case FilterEq:
		return equalValues(v, f.Value)
	case FilterNe:
		return !equalValues(v, f.Value)
	case FilterIn, FilterNin:
		in := false
		list, _ := f.Value.([]any)
		for _, x := range list {
			if equalValues(v, x) {
				in = true
				break
			}
		}
		return in == (f.Type == FilterIn)
	case FilterGt, FilterGte, FilterLt, FilterLte:
		c, ok := compareValues(v, f.Value)
		if !ok {
			return false
		}
		switch f.Type {
		case FilterGt:
			return c > 0
		case FilterGte:
			return c >= 0
		case FilterLt:
			return c < 0
		default:
			return c <= 0
		}
	}
	return false
}

func equalValues(a, b any) bool {
	if c, ok := compareValues(a, b); ok {
		return c == 0
	}
	ab, aok := a.(bool)
	bb, bok := b.(bool)
	return aok && bok && ab == bb
}

// compareValues orders two numbers or two strings; ok is false for any
// other pair.
func compareValues(a, b any) (c int, ok bool) {
	if x, ok := toFloat(a); ok {
		y, ok := toFloat(b)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	x, aok := a.(string)
	y, bok := b.(string)
	if !aok || !bok {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

func isNumber(v any) bool {
	_, ok := toFloat(v)
	return ok
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
