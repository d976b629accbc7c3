package modelstub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/assistd/assistd/internal/modelstub"
)

func Example() {
	script, err := modelstub.ParseScript([]byte(`{"rules": [
		{"match": {"user_contains": "hello"}, "reply": {"text": "Hi! You wrote: {{last_user}}"}}
	]}`))
	if err != nil {
		panic(err)
	}
	stub := modelstub.New(script, modelstub.Options{})
	srv := httptest.NewServer(stub)
	defer srv.Close()
	defer stub.Close()

	res, err := http.Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(
		`{"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hello there"}]}`))
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var msg struct {
		Content    []struct{ Text string }
		StopReason string `json:"stop_reason"`
	}
	if err := json.NewDecoder(res.Body).Decode(&msg); err != nil {
		panic(err)
	}
	fmt.Println(msg.Content[0].Text, "|", msg.StopReason, "|", stub.Requests()[0].Model)
	// Output: Hi! You wrote: hello there | end_turn | claude-sonnet-4-5
}
