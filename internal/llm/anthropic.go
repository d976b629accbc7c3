package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// DefaultAnthropicBaseURL is used when an Anthropic provider names no base
// URL. The SDK appends v1/messages itself.
const DefaultAnthropicBaseURL = "https://api.anthropic.com"

// DefaultAnthropicMaxTokens fills max_tokens, which Anthropic requires,
// when the request leaves it unset.
const DefaultAnthropicMaxTokens = 4096

// AnthropicConfig configures an Anthropic Messages provider.
type AnthropicConfig struct {
	Name    string
	BaseURL string
	APIKey  string
	// HTTPClient defaults to a client without a global timeout.
	HTTPClient *http.Client
}

// Anthropic speaks the Anthropic Messages API, streaming.
type Anthropic struct {
	name   string
	client anthropic.Client
}

// NewAnthropic returns a provider for cfg. Environment defaults of the SDK
// (ANTHROPIC_*, profiles) are switched off so that the router alone decides
// which key goes where; the SDK does not retry.
func NewAnthropic(cfg AnthropicConfig) *Anthropic {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultAnthropicBaseURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	}
	name := cfg.Name
	if name == "" {
		name = "anthropic"
	}
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(base),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	}
	if cfg.APIKey != "" {
		// The SDK sends the key as a bearer token; the Messages API and
		// compatible proxies also look for x-api-key, so send both.
		opts = append(opts, option.WithAPIKey(cfg.APIKey), option.WithHeader("x-api-key", cfg.APIKey))
	}
	return &Anthropic{name: name, client: anthropic.NewClient(opts...)}
}

// Complete implements Provider.
func (p *Anthropic) Complete(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	params, opts, err := anthropicParams(req)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Provider: p.name, Model: req.Model, Message: err.Error()}
	}
	stream := p.client.Messages.NewStreaming(ctx, params, opts...)
	defer stream.Close()

	resp := &Response{Model: req.Model}
	var text strings.Builder
	// Anthropic numbers content blocks across text and tool_use; callers
	// number tool calls from 0.
	toolIndex := map[int64]int{}
	var calls []ToolCall
	stopped := false
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "message_start":
			if ev.Message.Model != "" {
				resp.Model = ev.Message.Model
			}
			resp.Usage.PromptTokens = int(ev.Message.Usage.InputTokens + ev.Message.Usage.CacheReadInputTokens + ev.Message.Usage.CacheCreationInputTokens)
			resp.Usage.CompletionTokens = int(ev.Message.Usage.OutputTokens)
		case "content_block_start":
			cb := ev.ContentBlock
			switch cb.Type {
			case "tool_use":
				i := len(calls)
				toolIndex[ev.Index] = i
				calls = append(calls, ToolCall{ID: cb.ID, Name: cb.Name})
				if onDelta != nil {
					onDelta(Delta{ToolCall: &ToolCallDelta{Index: i, ID: cb.ID, Name: cb.Name}})
				}
			case "text":
				if cb.Text != "" {
					text.WriteString(cb.Text)
					if onDelta != nil {
						onDelta(Delta{Text: cb.Text})
					}
				}
			}
		case "content_block_delta":
			switch ev.Delta.Type {
			case "text_delta":
				if ev.Delta.Text == "" {
					continue
				}
				text.WriteString(ev.Delta.Text)
				if onDelta != nil {
					onDelta(Delta{Text: ev.Delta.Text})
				}
			case "input_json_delta":
				i, ok := toolIndex[ev.Index]
				if !ok {
					return nil, &Error{Kind: KindMalformed, Provider: p.name, Model: req.Model, Message: fmt.Sprintf("input_json_delta for block %d, which is not a tool_use block", ev.Index)}
				}
				if ev.Delta.PartialJSON == "" {
					continue
				}
				calls[i].Arguments += ev.Delta.PartialJSON
				if onDelta != nil {
					onDelta(Delta{ToolCall: &ToolCallDelta{Index: i, Arguments: ev.Delta.PartialJSON}})
				}
			}
		case "message_delta":
			if r := string(ev.Delta.StopReason); r != "" {
				resp.FinishReason = anthropicFinish(r)
			}
			if ev.Usage.OutputTokens > 0 {
				resp.Usage.CompletionTokens = int(ev.Usage.OutputTokens)
			}
			if in := ev.Usage.InputTokens + ev.Usage.CacheReadInputTokens + ev.Usage.CacheCreationInputTokens; in > 0 {
				resp.Usage.PromptTokens = int(in)
			}
		case "message_stop":
			stopped = true
		}
	}
	if err := stream.Err(); err != nil {
		return nil, p.mapError(ctx, req.Model, err)
	}
	if !stopped {
		return nil, &Error{Kind: KindMalformed, Provider: p.name, Model: req.Model, Message: "the stream ended without message_stop"}
	}
	if resp.FinishReason == "" {
		resp.FinishReason = FinishStop
	}
	for i := range calls {
		// A tool without parameters streams no input at all.
		if calls[i].Arguments == "" {
			calls[i].Arguments = "{}"
		}
	}
	resp.Text = text.String()
	resp.ToolCalls = calls
	return resp, nil
}

func anthropicFinish(r string) string {
	switch r {
	case "max_tokens", "model_context_window_exceeded":
		return FinishLength
	case "tool_use":
		return FinishToolCalls
	case "refusal":
		return FinishFilter
	}
	// end_turn, stop_sequence, pause_turn
	return FinishStop
}

func (p *Anthropic) mapError(ctx context.Context, model string, err error) error {
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		typ := string(apiErr.Type())
		if msg == "" {
			var t string
			msg, t = errorBody(apiErr.RawJSON())
			if typ == "" {
				typ = t
			}
		}
		// An error event inside a 200 stream: the type says what happened.
		if apiErr.StatusCode == 0 || apiErr.StatusCode == http.StatusOK {
			return &Error{Kind: kindForErrorType(typ), Provider: p.name, Model: model, Message: msg}
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
	const streamErr = "received error while streaming: "
	if s := err.Error(); strings.HasPrefix(s, streamErr) {
		msg, typ := errorBody(strings.TrimPrefix(s, streamErr))
		return &Error{Kind: kindForErrorType(typ), Provider: p.name, Model: model, Message: msg}
	}
	return transportError(ctx, p.name, model, err)
}

func anthropicParams(req *Request) (anthropic.MessageNewParams, []option.RequestOption, error) {
	params := anthropic.MessageNewParams{Model: req.Model, MaxTokens: DefaultAnthropicMaxTokens}
	var opts []option.RequestOption
	if req.MaxTokens != nil {
		params.MaxTokens = int64(*req.MaxTokens)
	}
	// This SDK version has no typed temperature/top_p; the API still takes them.
	if req.Temperature != nil {
		opts = append(opts, option.WithJSONSet("temperature", *req.Temperature))
	}
	if req.TopP != nil {
		opts = append(opts, option.WithJSONSet("top_p", *req.TopP))
	}

	type turn struct {
		role   string
		blocks []anthropic.ContentBlockParamUnion
	}
	var turns []turn
	add := func(role string, blocks ...anthropic.ContentBlockParamUnion) {
		if len(blocks) == 0 {
			return
		}
		// Anthropic wants user and assistant turns to alternate.
		if n := len(turns); n > 0 && turns[n-1].role == role {
			turns[n-1].blocks = append(turns[n-1].blocks, blocks...)
			return
		}
		turns = append(turns, turn{role: role, blocks: blocks})
	}
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			if t := m.Text(); t != "" {
				params.System = append(params.System, anthropic.TextBlockParam{Text: t})
			}
		case RoleUser:
			var blocks []anthropic.ContentBlockParamUnion
			for _, part := range m.Parts {
				switch part.Type {
				case PartText:
					if part.Text != "" {
						blocks = append(blocks, anthropic.ContentBlockParamUnion{OfText: &anthropic.TextBlockParam{Text: part.Text}})
					}
				case PartImage:
					img, err := anthropicImage(part.ImageURL)
					if err != nil {
						return params, nil, fmt.Errorf("message %d: %w", i, err)
					}
					blocks = append(blocks, anthropic.ContentBlockParamUnion{OfImage: img})
				}
			}
			add("user", blocks...)
		case RoleAssistant:
			var blocks []anthropic.ContentBlockParamUnion
			if t := m.Text(); t != "" {
				blocks = append(blocks, anthropic.ContentBlockParamUnion{OfText: &anthropic.TextBlockParam{Text: t}})
			}
			for _, tc := range m.ToolCalls {
				input := json.RawMessage(tc.Arguments)
				if !json.Valid(input) {
					input = json.RawMessage("{}")
				}
				blocks = append(blocks, anthropic.ContentBlockParamUnion{OfToolUse: &anthropic.ToolUseBlockParam{ID: tc.ID, Name: tc.Name, Input: input}})
			}
			add("assistant", blocks...)
		case RoleTool:
			tr := &anthropic.ToolResultBlockParam{ToolUseID: m.ToolCallID}
			if t := m.Text(); t != "" {
				tr.Content = []anthropic.ToolResultBlockParamContentUnion{{OfText: &anthropic.TextBlockParam{Text: t}}}
			}
			add("user", anthropic.ContentBlockParamUnion{OfToolResult: tr})
		default:
			return params, nil, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
	}
	for _, t := range turns {
		switch t.role {
		case "user":
			params.Messages = append(params.Messages, anthropic.MessageParam{OfUser: &anthropic.UserMessageParam{Content: t.blocks}})
		default:
			params.Messages = append(params.Messages, anthropic.MessageParam{OfAssistant: &anthropic.AssistantMessageParam{Content: t.blocks}})
		}
	}

	for _, t := range req.Tools {
		// input_schema is required even for a tool without parameters.
		tp := &anthropic.ToolParam{Name: t.Name, InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{}}}
		if t.Description != "" {
			tp.Description = anthropic.String(t.Description)
		}
		if len(t.Parameters) > 0 && string(t.Parameters) != "null" {
			var schema map[string]any
			if err := json.Unmarshal(t.Parameters, &schema); err != nil {
				return params, nil, fmt.Errorf("tool %q: parameters are not a JSON object: %v", t.Name, err)
			}
			if props, ok := schema["properties"]; ok {
				tp.InputSchema.Properties = props
			}
			if req, ok := schema["required"].([]any); ok {
				for _, r := range req {
					if s, ok := r.(string); ok {
						tp.InputSchema.Required = append(tp.InputSchema.Required, s)
					}
				}
			}
			for k, v := range schema {
				if k == "type" || k == "properties" || k == "required" {
					continue
				}
				if tp.InputSchema.ExtraFields == nil {
					tp.InputSchema.ExtraFields = map[string]any{}
				}
				tp.InputSchema.ExtraFields[k] = v
			}
		}
		if t.Strict {
			tp.Strict = anthropic.Bool(true)
		}
		params.Tools = append(params.Tools, anthropic.ToolUnionParam{OfTool: tp})
	}
	if len(req.Tools) > 0 {
		var disable = req.ParallelToolCalls != nil && !*req.ParallelToolCalls
		switch req.ToolChoice {
		case "", "auto":
			if disable {
				params.ToolChoice.OfAuto = &anthropic.ToolChoiceAutoParam{DisableParallelToolUse: anthropic.Bool(true)}
			} else if req.ToolChoice == "auto" {
				params.ToolChoice.OfAuto = &anthropic.ToolChoiceAutoParam{}
			}
		case "required":
			params.ToolChoice.OfAny = &anthropic.ToolChoiceAnyParam{}
			if disable {
				params.ToolChoice.OfAny.DisableParallelToolUse = anthropic.Bool(true)
			}
		case "function":
			params.ToolChoice.OfTool = &anthropic.ToolChoiceToolParam{Name: req.ToolName}
			if disable {
				params.ToolChoice.OfTool.DisableParallelToolUse = anthropic.Bool(true)
			}
		case "none":
			params.ToolChoice.OfNone = &anthropic.ToolChoiceNoneParam{}
		default:
			return params, nil, fmt.Errorf("unknown tool_choice %q", req.ToolChoice)
		}
	}
	return params, opts, nil
}

// anthropicImage turns an image URL into an image block: data: URLs become
// base64 sources, anything else a url source.
func anthropicImage(u string) (*anthropic.ImageBlockParam, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 {
			return nil, errors.New("image data URL must be base64-encoded")
		}
		return &anthropic.ImageBlockParam{Source: anthropic.ImageBlockParamSourceUnion{OfBase64: &anthropic.Base64ImageSourceParam{
			Data: data, MediaType: anthropic.Base64ImageSourceMediaType(mediaType),
		}}}, nil
	}
	return &anthropic.ImageBlockParam{Source: anthropic.ImageBlockParamSourceUnion{OfURL: &anthropic.URLImageSourceParam{URL: u}}}, nil
}
