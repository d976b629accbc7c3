package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// RouterConfig is the model configuration file. Its JSON shape:
//
//	{
//	  "providers": {
//	    "NAME": {
//	      "type": "openai" | "anthropic",
//	      "base_url": "http://localhost:11434/v1",
//	      "api_key_env": "ENV_NAME",          // the key is read from this variable
//	      "timeout": "60s",                   // per attempt; default 120s
//	      "max_retries": 2,                   // default 2
//	      "max_tokens_field": "max_tokens"    // openai only; default max_completion_tokens
//	    }
//	  },
//	  "models": [
//	    {
//	      "match": "gpt-4o" | "gpt-4*" | "prefix:claude-",
//	      "provider": "NAME",
//	      "upstream_model": "name sent upstream (default: the requested name)",
//	      "context_window": 128000,
//	      "fallbacks": ["other-model-name"]
//	    }
//	  ],
//	  "aliases": {"fast": "gpt-4o-mini"}
//	}
//
// A name is resolved through aliases once, then matched exactly, then by
// the longest glob (path.Match syntax) or "prefix:" pattern. Keys are read
// from the environment, never from the file, so the file can be committed.
type RouterConfig struct {
	Providers map[string]ProviderConfig `json:"providers"`
	Models    []ModelRoute              `json:"models"`
	Aliases   map[string]string         `json:"aliases"`
}

// ProviderConfig is one upstream endpoint.
type ProviderConfig struct {
	Type           string `json:"type"`
	BaseURL        string `json:"base_url"`
	APIKeyEnv      string `json:"api_key_env"`
	Timeout        string `json:"timeout"`
	MaxRetries     *int   `json:"max_retries"`
	MaxTokensField string `json:"max_tokens_field"`
}

// ModelRoute sends matching model names to a provider.
type ModelRoute struct {
	Match         string   `json:"match"`
	Provider      string   `json:"provider"`
	UpstreamModel string   `json:"upstream_model"`
	ContextWindow int      `json:"context_window"`
	Fallbacks     []string `json:"fallbacks"`
}

// Provider types.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
)

// ParseConfig reads a RouterConfig strictly: unknown keys are errors, so a
// misspelt setting fails at startup instead of being silently ignored.
func ParseConfig(data []byte) (*RouterConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cfg RouterConfig
	if err := dec.Decode(&cfg); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, fmt.Errorf("model config: unknown key %s (known keys: providers, models, aliases; provider: type, base_url, api_key_env, timeout, max_retries, max_tokens_field; model: match, provider, upstream_model, context_window, fallbacks)", f)
		}
		return nil, fmt.Errorf("model config: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("model config: unexpected data after the JSON object")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Validate checks references and values that JSON decoding cannot.
func (c *RouterConfig) Validate() error {
	for name, p := range c.Providers {
		switch p.Type {
		case ProviderOpenAI, ProviderAnthropic:
		default:
			return fmt.Errorf("model config: provider %q: type must be \"openai\" or \"anthropic\", not %q", name, p.Type)
		}
		if p.Timeout != "" {
			d, err := time.ParseDuration(p.Timeout)
			if err != nil || d <= 0 {
				return fmt.Errorf("model config: provider %q: timeout %q is not a positive duration like \"60s\"", name, p.Timeout)
			}
		}
		if p.MaxRetries != nil && *p.MaxRetries < 0 {
			return fmt.Errorf("model config: provider %q: max_retries must not be negative", name)
		}
		switch p.MaxTokensField {
		case "", "max_tokens", "max_completion_tokens":
		default:
			return fmt.Errorf("model config: provider %q: max_tokens_field must be \"max_tokens\" or \"max_completion_tokens\"", name)
		}
		if p.MaxTokensField != "" && p.Type != ProviderOpenAI {
			return fmt.Errorf("model config: provider %q: max_tokens_field applies to openai providers only", name)
		}
	}
	for i, m := range c.Models {
		if m.Match == "" {
			return fmt.Errorf("model config: models[%d]: match is required", i)
		}
		if _, ok := c.Providers[m.Provider]; !ok {
			return fmt.Errorf("model config: models[%d] (%q): provider %q is not defined under providers", i, m.Match, m.Provider)
		}
		if !strings.HasPrefix(m.Match, prefixMatch) {
			if _, err := path.Match(m.Match, ""); err != nil {
				return fmt.Errorf("model config: models[%d]: bad pattern %q: %v", i, m.Match, err)
			}
		}
		if m.ContextWindow < 0 {
			return fmt.Errorf("model config: models[%d] (%q): context_window must not be negative", i, m.Match)
		}
	}
	for a, target := range c.Aliases {
		if a == "" || target == "" {
			return errors.New("model config: aliases need a name and a target")
		}
	}
	return nil
}

const prefixMatch = "prefix:"
