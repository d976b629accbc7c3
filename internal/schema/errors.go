package schema

import "fmt"

// ValidationError is a client mistake in a request: Param names the offending
// field (dotted path, as OpenAI reports it) and Message says what is wrong.
type ValidationError struct {
	Param   string
	Message string
	// Code is OpenAI's machine-readable error code, when one applies.
	Code string
}

func (e *ValidationError) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Param, e.Message)
}

// Invalid builds a ValidationError for param with a formatted message.
func Invalid(param, format string, args ...any) *ValidationError {
	return &ValidationError{Param: param, Message: fmt.Sprintf(format, args...)}
}
