package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryAfterError carries a server's Retry-After hint next to the *Error
// without changing Error's fields; the router reads it back with
// retryAfterOf and hands callers the plain *Error.
type retryAfterError struct {
	err   *Error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// retryAfterOf returns the Retry-After hint err carries, or 0.
func retryAfterOf(err error) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.after
	}
	return 0
}

// parseRetryAfter reads a Retry-After header given in seconds (the form
// model providers use); HTTP dates are ignored.
func parseRetryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s > 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return 0
}

// kindForStatus maps an HTTP status to an error kind.
func kindForStatus(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return KindRateLimit
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return KindAuth
	case code == http.StatusRequestTimeout:
		return KindTimeout
	case code >= 500:
		return KindServer
	case code >= 400:
		return KindBadRequest
	}
	return KindServer
}

// httpError builds the *Error for an HTTP failure, wrapping it with the
// Retry-After hint when the response had one.
func httpError(provider, model string, status int, header http.Header, msg string) error {
	e := &Error{Kind: kindForStatus(status), StatusCode: status, Provider: provider, Model: model, Message: msg}
	if d := parseRetryAfter(header); d > 0 {
		return &retryAfterError{err: e, after: d}
	}
	return e
}

// transportError classifies failures that are not an HTTP status: timeouts,
// cancellation, undecodable streams and connection errors. A cancelled
// caller context is returned as is so that nobody retries it.
func transportError(ctx context.Context, provider, model string, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &Error{Kind: KindTimeout, Provider: provider, Model: model, Message: "no complete answer in time: " + err.Error()}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return &Error{Kind: KindMalformed, Provider: provider, Model: model, Message: "cannot parse the streamed answer: " + err.Error()}
	}
	return &Error{Kind: KindServer, Provider: provider, Model: model, Message: err.Error()}
}

// errorBody digs a human-readable message out of an error body shaped like
// {"error":{"message":...,"type":...}} (both OpenAI and Anthropic use it),
// falling back to the raw text.
func errorBody(raw string) (msg, typ string) {
	var b struct {
		Error json.RawMessage `json:"error"`
		// Anthropic puts type at the top level too.
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(raw), &b) == nil && len(b.Error) > 0 {
		var inner struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		}
		if json.Unmarshal(b.Error, &inner) == nil && inner.Message != "" {
			return inner.Message, inner.Type
		}
		var s string
		if json.Unmarshal(b.Error, &s) == nil && s != "" {
			return s, ""
		}
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > 2000 {
		raw = raw[:2000] + "…"
	}
	return raw, ""
}

// kindForErrorType maps the error type of an error event sent inside a
// stream (where the HTTP status already said 200).
func kindForErrorType(typ string) string {
	switch typ {
	case "rate_limit_error", "rate_limit_exceeded", "insufficient_quota":
		return KindRateLimit
	case "authentication_error", "permission_error":
		return KindAuth
	case "invalid_request_error", "not_found_error", "request_too_large":
		return KindBadRequest
	case "timeout_error":
		return KindTimeout
	}
	return KindServer
}

// newHTTPClient is a provider's default client: no global timeout (the
// router bounds each attempt), and a keep-alive pool sized for many runs
// streaming at once, where the default two idle connections per host would
// make most runs dial anew.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: t}
}
