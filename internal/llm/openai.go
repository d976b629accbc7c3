package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// DefaultOpenAIBaseURL is used when an OpenAI provider names no base URL.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1"

// OpenAIConfig configures an OpenAI-compatible Chat Completions provider.
type OpenAIConfig struct {
	// Name identifies the provider in errors and logs.
	Name string
	// BaseURL is the API root including /v1 (e.g. http://localhost:11434/v1).
	BaseURL string
	APIKey  string
	// MaxTokensField is "max_completion_tokens" (default) or "max_tokens",
	// for servers that only know the legacy field.
	MaxTokensField string
	// HTTPClient defaults to a client without a global timeout; the router
	// bounds each attempt with a context deadline instead.
	HTTPClient *http.Client
}

// OpenAI speaks OpenAI Chat Completions, always streaming so that callers
// can forward text as it arrives.
type OpenAI struct {
	name           string
	maxTokensField string
	client         openai.Client
}

// streamChunk is the part of a chat.completion.chunk the provider reads.
// The SDK sends the request and frames the stream; the chunks are decoded
// with encoding/json into this small type because the SDK's own chunk type
// costs several times more CPU per token, which adds up at a few thousand
// tokens per second.
type streamChunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Index int64 `json:"index"`
		Delta struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				Index    int64  `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// NewOpenAI returns a provider for cfg. It does not read the environment
// (the SDK client would pick up OPENAI_* variables otherwise); the router
// decides where keys come from. The SDK does not retry: the router does.
func NewOpenAI(cfg OpenAIConfig) *OpenAI {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultOpenAIBaseURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	}
	name := cfg.Name
	if name == "" {
		name = "openai"
	}
	return &OpenAI{
		name:           name,
		maxTokensField: cfg.MaxTokensField,
		client: openai.NewClient(
			option.WithBaseURL(base),
			option.WithAPIKey(cfg.APIKey),
			option.WithHTTPClient(hc),
			option.WithMaxRetries(0),
		),
	}
}

// Complete implements Provider.
func (p *OpenAI) Complete(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	params, err := p.params(req)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Provider: p.name, Model: req.Model, Message: err.Error()}
	}
	var opts []option.RequestOption
	if req.MaxTokens != nil && p.maxTokensField == "max_tokens" {
		opts = append(opts, option.WithJSONSet("max_tokens", *req.MaxTokens))
	}
	var raw *http.Response
	opts = append(opts, option.WithJSONSet("stream", true))
	err = p.client.Post(ctx, "chat/completions", params, &raw, opts...)
	stream := ssestream.NewStream[streamChunk](ssestream.NewDecoder(raw), err)
	defer stream.Close()

	resp := &Response{Model: req.Model}
	var text strings.Builder
	calls := map[int64]*ToolCall{}
	finished := false
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Model != "" {
			resp.Model = chunk.Model
		}
		if u := chunk.Usage; u != nil {
			resp.Usage = Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue // n is never set above 1
			}
			d := ch.Delta
			if d.Content != "" {
				text.WriteString(d.Content)
				if onDelta != nil {
					onDelta(Delta{Text: d.Content})
				}
			}
			for _, tc := range d.ToolCalls {
				c := calls[tc.Index]
				if c == nil {
					c = &ToolCall{}
					calls[tc.Index] = c
				}
				if tc.ID != "" {
					c.ID = tc.ID
				}
				if tc.Function.Name != "" {
					c.Name += tc.Function.Name
				}
				c.Arguments += tc.Function.Arguments
				if onDelta != nil {
					onDelta(Delta{ToolCall: &ToolCallDelta{Index: int(tc.Index), ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
				}
			}
			if ch.FinishReason != "" {
				resp.FinishReason = ch.FinishReason
				finished = true
			}
		}
	}
	if err := stream.Err(); err != nil {
		return nil, p.mapError(ctx, req.Model, err)
	}
	if !finished {
		return nil, &Error{Kind: KindMalformed, Provider: p.name, Model: req.Model, Message: "the stream ended without a finish_reason"}
	}
	resp.Text = text.String()
	idx := make([]int64, 0, len(calls))
	for i := range calls {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	for _, i := range idx {
		resp.ToolCalls = append(resp.ToolCalls, *calls[i])
	}
	// Some servers say "stop" even though they called tools.
	if len(resp.ToolCalls) > 0 && resp.FinishReason == FinishStop {
		resp.FinishReason = FinishToolCalls
	}
	return resp, nil
}

func (p *OpenAI) mapError(ctx context.Context, model string, err error) error {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		var raw string
		if apiErr.Response != nil {
			// The SDK has consumed the body into RawJSON.
			raw = apiErr.RawJSON()
		}
		msg := apiErr.Message
		if msg == "" {
			msg, _ = errorBody(raw)
		}
		if msg == "" {
			msg = http.StatusText(apiErr.StatusCode)
		}
		var h http.Header
		if apiErr.Response != nil {
			h = apiErr.Response.Header
		}
		return httpError(p.name, model, apiErr.StatusCode, h, msg)
	}
	var se *ssestream.StreamError
	if errors.As(err, &se) {
		msg, typ := errorBody(string(se.Event.Data))
		return &Error{Kind: kindForErrorType(typ), Provider: p.name, Model: model, Message: msg}
	}
	return transportError(ctx, p.name, model, err)
}

func (p *OpenAI) params(req *Request) (openai.ChatCompletionNewParams, error) {
	params := openai.ChatCompletionNewParams{
		Model:         shared.ChatModel(req.Model),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	for i, m := range req.Messages {
		mp, err := openAIMessage(m)
		if err != nil {
			return params, fmt.Errorf("message %d: %w", i, err)
		}
		params.Messages = append(params.Messages, mp)
	}
	for _, t := range req.Tools {
		fn := shared.FunctionDefinitionParam{Name: t.Name}
		if t.Description != "" {
			fn.Description = openai.String(t.Description)
		}
		if len(t.Parameters) > 0 && string(t.Parameters) != "null" {
			var schema shared.FunctionParameters
			if err := json.Unmarshal(t.Parameters, &schema); err != nil {
				return params, fmt.Errorf("tool %q: parameters are not a JSON object: %v", t.Name, err)
			}
			fn.Parameters = schema
		}
		if t.Strict {
			fn.Strict = openai.Bool(true)
		}
		params.Tools = append(params.Tools, openai.ChatCompletionToolUnionParam{OfFunction: &openai.ChatCompletionFunctionToolParam{Function: fn}})
	}
	// tool_choice and parallel_tool_calls are rejected without tools.
	if len(req.Tools) > 0 {
		switch req.ToolChoice {
		case "":
		case "auto", "none", "required":
			params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String(req.ToolChoice)}
		case "function":
			params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfFunctionToolChoice: &openai.ChatCompletionNamedToolChoiceParam{
				Function: openai.ChatCompletionNamedToolChoiceFunctionParam{Name: req.ToolName},
			}}
		default:
			return params, fmt.Errorf("unknown tool_choice %q", req.ToolChoice)
		}
		if req.ParallelToolCalls != nil {
			params.ParallelToolCalls = openai.Bool(*req.ParallelToolCalls)
		}
	}
	if req.Temperature != nil {
		params.Temperature = openai.Float(*req.Temperature)
	}
	if req.TopP != nil {
		params.TopP = openai.Float(*req.TopP)
	}
	if req.MaxTokens != nil && p.maxTokensField != "max_tokens" {
		params.MaxCompletionTokens = openai.Int(int64(*req.MaxTokens))
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
			params.ResponseFormat.OfText = &shared.ResponseFormatTextParam{}
		case "json_object":
			params.ResponseFormat.OfJSONObject = &shared.ResponseFormatJSONObjectParam{}
		case "json_schema":
			name := rf.Name
			if name == "" {
				name = "response"
			}
			js := shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: name}
			if len(rf.Schema) > 0 {
				var schema map[string]any
				if err := json.Unmarshal(rf.Schema, &schema); err != nil {
					return params, fmt.Errorf("response_format schema is not a JSON object: %v", err)
				}
				js.Schema = schema
			}
			if rf.Strict {
				js.Strict = openai.Bool(true)
			}
			params.ResponseFormat.OfJSONSchema = &shared.ResponseFormatJSONSchemaParam{JSONSchema: js}
		default:
			return params, fmt.Errorf("unknown response_format type %q", rf.Type)
		}
	}
	if req.ReasoningEffort != "" {
		params.ReasoningEffort = shared.ReasoningEffort(req.ReasoningEffort)
	}
	return params, nil
}

func openAIMessage(m Message) (openai.ChatCompletionMessageParamUnion, error) {
	switch m.Role {
	case RoleSystem:
		return openai.ChatCompletionMessageParamUnion{OfSystem: &openai.ChatCompletionSystemMessageParam{
			Content: openai.ChatCompletionSystemMessageParamContentUnion{OfString: openai.String(m.Text())},
		}}, nil
	case RoleUser:
		u := &openai.ChatCompletionUserMessageParam{}
		if hasImage(m.Parts) {
			for _, part := range m.Parts {
				switch part.Type {
				case PartText:
					u.Content.OfArrayOfContentParts = append(u.Content.OfArrayOfContentParts, openai.ChatCompletionContentPartUnionParam{
						OfText: &openai.ChatCompletionContentPartTextParam{Text: part.Text}})
				case PartImage:
					u.Content.OfArrayOfContentParts = append(u.Content.OfArrayOfContentParts, openai.ChatCompletionContentPartUnionParam{
						OfImageURL: &openai.ChatCompletionContentPartImageParam{ImageURL: openai.ChatCompletionContentPartImageImageURLParam{URL: part.ImageURL, Detail: part.Detail}}})
				}
			}
		} else {
			u.Content.OfString = openai.String(m.Text())
		}
		return openai.ChatCompletionMessageParamUnion{OfUser: u}, nil
	case RoleAssistant:
		a := &openai.ChatCompletionAssistantMessageParam{}
		if t := m.Text(); t != "" || len(m.ToolCalls) == 0 {
			a.Content.OfString = openai.String(t)
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
				ID:       tc.ID,
				Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: args},
			}})
		}
		return openai.ChatCompletionMessageParamUnion{OfAssistant: a}, nil
	case RoleTool:
		return openai.ChatCompletionMessageParamUnion{OfTool: &openai.ChatCompletionToolMessageParam{
			ToolCallID: m.ToolCallID,
			Content:    openai.ChatCompletionToolMessageParamContentUnion{OfString: openai.String(m.Text())},
		}}, nil
	}
	return openai.ChatCompletionMessageParamUnion{}, fmt.Errorf("unknown role %q", m.Role)
}

func hasImage(parts []Part) bool {
	for _, p := range parts {
		if p.Type == PartImage {
			return true
		}
	}
	return false
}
