// Package modelstub is a scripted model server for tests, benchmarks and
// local demos. It is a real HTTP handler speaking the OpenAI Chat
// Completions wire (POST /v1/chat/completions, GET /v1/models) and the
// Anthropic Messages wire (POST /v1/messages, /v1/messages/count_tokens),
// streaming and not, closely enough that the official SDKs accept it; the
// /v1 prefix is optional. Its replies follow a Script:
//
//	{
//	  "rules": [
//	    {"match": {"user_contains": "weather", "tool_available": "get_weather", "last_role": "user"},
//	     "reply": {"text": "Let me check.",
//	               "tool_calls": [{"name": "get_weather", "arguments": {"city": "{{last_user}}"}}]}},
//	    {"match": {"last_role": "tool", "tool_result_contains": "sunny"},
//	     "reply": {"text": "Good news: {{last_tool_result}}", "tokens_per_second": 20}},
//	    {"match": {"user_contains": "flaky"},
//	     "reply": {"fail_times": 2, "error": {"status": 429, "message": "slow down", "retry_after": 0.05}}},
//	    {"match": {"model": "broken-*"}, "reply": {"malformed": true}},
//	    {"match": {"user_contains": "json"}, "reply": {"echo_json": true}}
//	  ],
//	  "default": {"text": "You said: {{last_user}}", "latency": "200ms"}
//	}
//
// The first matching rule answers (see Match and Reply); without a match
// the default answers, by default an echo of the last user message or tool
// result.
//
// Token counts are estimates, deterministic but not a real tokenizer:
// prompt tokens are ceil(characters/4) of all the text in the request
// (system prompt, messages, tool results, tool call arguments), and
// completion tokens are the number of pieces the reply is streamed in (a
// word with its leading space per text token, up to 8 bytes of arguments
// per tool call token). Max tokens (max_tokens, max_completion_tokens)
// counts the same pieces; a tool call that does not fit is dropped and the
// reply ends with finish_reason "length" (stop_reason "max_tokens").
//
// Errors use each wire's own format (OpenAI {"error": {...}}, Anthropic
// {"type": "error", "error": {...}}), with Retry-After and Retry-After-Ms
// headers when the script sets retry_after.
//
// A Server keeps no package-level state; every goroutine it starts ends with
// its request, and waits (latency, pacing, hang) end as soon as the client
// goes away or the Server is closed. Requests are recorded (Requests) so
// that tests can assert on the exact prompt sent.
package modelstub
