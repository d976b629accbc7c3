package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// Error is a response in OpenAI's error shape:
// {"error":{"message","type","param","code"}}.
type Error struct {
	Status  int
	Type    string
	Param   string
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// MarshalJSON writes the wire form, with param and code null when empty.
func (e *Error) MarshalJSON() ([]byte, error) {
	type body struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	b := body{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		b.Param = &e.Param
	}
	if e.Code != "" {
		b.Code = &e.Code
	}
	return json.Marshal(struct {
		Error body `json:"error"`
	}{b})
}

const typeInvalidRequest = "invalid_request_error"

func badRequest(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

func notFound(kind, id string) *Error {
	return &Error{Status: http.StatusNotFound, Type: typeInvalidRequest, Message: fmt.Sprintf("No %s found with id '%s'.", kind, id)}
}

func errUnauthorized() *Error {
	return &Error{Status: http.StatusUnauthorized, Type: typeInvalidRequest, Code: "invalid_api_key",
		Message: "Incorrect API key provided. You can create a key with `assistd keys create --project NAME`."}
}

func errMissingKey() *Error {
	return &Error{Status: http.StatusUnauthorized, Type: typeInvalidRequest,
		Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."}
}

func errInternal() *Error {
	return &Error{Status: http.StatusInternalServerError, Type: "server_error",
		Message: "The server had an error while processing your request. Sorry about that!"}
}

// toAPIError maps any handler error to the wire error; unknown errors become
// a generic 500 (their text is logged, never sent).
func toAPIError(err error) (*Error, bool) {
	var apiErr *Error
	var verr *schema.ValidationError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		return apiErr, true
	case errors.As(err, &verr):
		return &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: verr.Param, Code: verr.Code, Message: verr.Message}, true
	case errors.As(err, &maxErr), errors.Is(err, blob.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Message: "The request body is too large."}, true
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Type: typeInvalidRequest, Message: "Not found."}, true
	}
	return errInternal(), false
}

// jsonDecodeError turns an encoding/json failure into a 400 naming the field.
func jsonDecodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var verr *schema.ValidationError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), errors.As(err, &verr):
		return err
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")
	case errors.As(err, &typ):
		param := wireField(typ.Field)
		if param == "" {
			return badRequest("", "Invalid type: expected %s, but got %s.", jsonTypeName(typ), typ.Value)
		}
		return badRequest(param, "Invalid type for '%s': expected %s, but got %s instead.", param, jsonTypeName(typ), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badRequest(name, "Unrecognized request argument supplied: %s", name)
	}
	return badRequest("", "Invalid request body: %s", err.Error())
}

// wireField drops the names of embedded Go structs (capitalised) from an
// encoding/json field path: "RunOptions.temperature" is "temperature" on
// the wire, where every key is lower case.
func wireField(path string) string {
	parts := strings.Split(path, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && unicode.IsUpper(rune(p[0])) {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

func jsonTypeName(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "a different type"
	}
	switch e.Type.Kind().String() {
	case "string":
		return "a string"
	case "int", "int64", "int32":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return e.Type.String()
}
