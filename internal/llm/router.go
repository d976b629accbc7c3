package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path"
	"strings"
	"time"
)

// Router defaults.
const (
	DefaultTimeout       = 120 * time.Second
	DefaultMaxRetries    = 2
	DefaultContextWindow = 128000
	defaultBackoffBase   = 200 * time.Millisecond
	defaultBackoffMax    = 5 * time.Second
	// maxRetryAfter bounds how long a server's Retry-After may hold a run.
	maxRetryAfter = 60 * time.Second
)

// Router maps model names to providers and retries or falls back on
// retryable failures. It implements Provider.
type Router struct {
	providers map[string]*routedProvider
	exact     map[string]*route
	patterns  []*route // in config order; the longest match wins
	aliases   map[string]string
	logger    *slog.Logger

	backoffBase time.Duration
	backoffMax  time.Duration
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

type routedProvider struct {
	name       string
	p          Provider
	timeout    time.Duration
	maxRetries int
}

type route struct {
	match         string // as configured
	pattern       string // without "prefix:"
	prefix        bool
	provider      *routedProvider
	upstream      string
	contextWindow int
	fallbacks     []string
}

// NewRouter builds a router from cfg. With cfg nil (no config file) the
// env shortcuts apply: OPENAI_BASE_URL and/or OPENAI_API_KEY route every
// model to an "openai" provider, ANTHROPIC_API_KEY (with optional
// ANTHROPIC_BASE_URL) routes claude* to an "anthropic" provider. getenv is
// passed in so tests and callers control the environment.
func NewRouter(cfg *RouterConfig, getenv func(string) string, logger *slog.Logger) (*Router, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg == nil {
		cfg = envConfig(getenv)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{
		providers:   map[string]*routedProvider{},
		exact:       map[string]*route{},
		aliases:     cfg.Aliases,
		logger:      logger,
		backoffBase: defaultBackoffBase,
		backoffMax:  defaultBackoffMax,
		sleep:       sleepCtx,
	}
	for name, pc := range cfg.Providers {
		key := ""
		if pc.APIKeyEnv != "" {
			key = getenv(pc.APIKeyEnv)
			if key == "" {
				logger.Warn("model provider API key variable is empty", "provider", name, "env", pc.APIKeyEnv)
			}
		}
		rp := &routedProvider{name: name, timeout: DefaultTimeout, maxRetries: DefaultMaxRetries}
		if pc.Timeout != "" {
			rp.timeout, _ = time.ParseDuration(pc.Timeout) // validated
		}
		if pc.MaxRetries != nil {
			rp.maxRetries = *pc.MaxRetries
		}
		switch pc.Type {
		case ProviderOpenAI:
			rp.p = NewOpenAI(OpenAIConfig{Name: name, BaseURL: pc.BaseURL, APIKey: key, MaxTokensField: pc.MaxTokensField})
		case ProviderAnthropic:
			rp.p = NewAnthropic(AnthropicConfig{Name: name, BaseURL: pc.BaseURL, APIKey: key})
		}
		r.providers[name] = rp
	}
	for _, m := range cfg.Models {
		r.addRoute(&route{
			match:         m.Match,
			provider:      r.providers[m.Provider],
			upstream:      m.UpstreamModel,
			contextWindow: m.ContextWindow,
			fallbacks:     m.Fallbacks,
		})
	}
	return r, nil
}

// addRoute files rt as exact or pattern; the first exact entry wins.
func (r *Router) addRoute(rt *route) {
	switch {
	case strings.HasPrefix(rt.match, prefixMatch):
		rt.prefix = true
		rt.pattern = strings.TrimPrefix(rt.match, prefixMatch)
		r.patterns = append(r.patterns, rt)
	case strings.ContainsAny(rt.match, `*?[\`):
		rt.pattern = rt.match
		r.patterns = append(r.patterns, rt)
	default:
		if _, dup := r.exact[rt.match]; !dup {
			r.exact[rt.match] = rt
		}
	}
}

// envConfig turns the env shortcuts into a config, so both paths share one
// router implementation.
func envConfig(getenv func(string) string) *RouterConfig {
	cfg := &RouterConfig{Providers: map[string]ProviderConfig{}}
	if base, key := getenv("OPENAI_BASE_URL"), getenv("OPENAI_API_KEY"); base != "" || key != "" {
		if base == "" {
			base = DefaultOpenAIBaseURL
		}
		cfg.Providers["openai"] = ProviderConfig{Type: ProviderOpenAI, BaseURL: base, APIKeyEnv: "OPENAI_API_KEY"}
		cfg.Models = append(cfg.Models, ModelRoute{Match: "*", Provider: "openai"})
	}
	if key := getenv("ANTHROPIC_API_KEY"); key != "" {
		base := getenv("ANTHROPIC_BASE_URL")
		if base == "" {
			base = DefaultAnthropicBaseURL
		}
		cfg.Providers["anthropic"] = ProviderConfig{Type: ProviderAnthropic, BaseURL: base, APIKeyEnv: "ANTHROPIC_API_KEY"}
		cfg.Models = append(cfg.Models, ModelRoute{Match: "prefix:claude", Provider: "anthropic"})
	}
	return cfg
}

// SetBackoff changes the retry backoff (base doubles per attempt, capped at
// max); tests of callers use it to keep retries fast.
func (r *Router) SetBackoff(base, max time.Duration) {
	r.backoffBase, r.backoffMax = base, max
}

// resolve finds the route for a requested name and the name to send
// upstream.
func (r *Router) resolve(model string) (*route, string, bool) {
	if a, ok := r.aliases[model]; ok {
		model = a
	}
	rt, ok := r.exact[model]
	if !ok {
		best := -1
		for _, p := range r.patterns {
			var hit bool
			if p.prefix {
				hit = strings.HasPrefix(model, p.pattern)
			} else {
				hit, _ = path.Match(p.pattern, model)
			}
			if hit && len(p.pattern) > best {
				rt, best = p, len(p.pattern)
			}
		}
		if rt == nil {
			return nil, model, false
		}
	}
	upstream := model
	if rt.upstream != "" {
		upstream = rt.upstream
	}
	return rt, upstream, true
}

// ContextWindow returns the configured context window of model's route,
// or DefaultContextWindow when unset or unroutable.
func (r *Router) ContextWindow(model string) int {
	if rt, _, ok := r.resolve(model); ok && rt.contextWindow > 0 {
		return rt.contextWindow
	}
	return DefaultContextWindow
}

// Resolve reports the provider name and upstream model a name routes to.
func (r *Router) Resolve(model string) (provider, upstream string, ok bool) {
	rt, up, ok := r.resolve(model)
	if !ok {
		return "", "", false
	}
	return rt.provider.name, up, true
}

func noProvider(model string) *Error {
	return &Error{Kind: KindNoProvider, Model: model, Message: fmt.Sprintf(
		"no model provider is configured for model %q; set OPENAI_BASE_URL/OPENAI_API_KEY or configure models in the config file", model)}
}

// Complete implements Provider: the requested model with its retries, then
// each fallback with its own. Nothing is retried once a delta reached
// onDelta, because the caller may already have shown it to a client.
func (r *Router) Complete(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	rt, upstream, ok := r.resolve(req.Model)
	if !ok {
		return nil, noProvider(req.Model)
	}
	candidates := append([]string{req.Model}, rt.fallbacks...)
	var lastErr error
	for i, name := range candidates {
		if i > 0 {
			if rt, upstream, ok = r.resolve(name); !ok {
				r.logger.Warn("model fallback has no provider", "model", req.Model, "fallback", name)
				lastErr = cmpErr(lastErr, noProvider(name))
				continue
			}
			r.logger.Info("model falling back", "model", req.Model, "fallback", name, "error", lastErr)
		}
		resp, emitted, err := r.attempts(ctx, rt.provider, upstream, req, onDelta)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var e *Error
		if emitted || ctx.Err() != nil || !errors.As(err, &e) || !e.Retryable() {
			return nil, err
		}
	}
	return nil, lastErr
}

// cmpErr keeps the first real failure over later routing misses.
func cmpErr(prev, next error) error {
	if prev != nil {
		return prev
	}
	return next
}

// attempts runs one model on one provider with retries. emitted reports
// whether any delta reached onDelta.
func (r *Router) attempts(ctx context.Context, p *routedProvider, upstream string, req *Request, onDelta func(Delta)) (*Response, bool, error) {
	sub := *req
	sub.Model = upstream
	for attempt := 0; ; attempt++ {
		emitted := false
		fwd := func(d Delta) {
			emitted = true
			if onDelta != nil {
				onDelta(d)
			}
		}
		actx, cancel := context.WithTimeout(ctx, p.timeout)
		resp, err := p.p.Complete(actx, &sub, fwd)
		attemptTimedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			if resp.Model == "" {
				resp.Model = upstream
			}
			return resp, emitted, nil
		}
		if attemptTimedOut {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindTimeout {
				err = &Error{Kind: KindTimeout, Provider: p.name, Model: upstream, Message: fmt.Sprintf("no complete answer within %s: %v", p.timeout, err)}
			}
		}
		var e *Error
		isErr := errors.As(err, &e)
		if emitted || ctx.Err() != nil || !isErr || !e.Retryable() || attempt >= p.maxRetries {
			if isErr {
				err = e // drop the Retry-After wrapper
			}
			return nil, emitted, err
		}
		delay := r.backoff(attempt, retryAfterOf(err))
		r.logger.Info("model call failed, retrying", "provider", p.name, "model", upstream, "attempt", attempt+1, "delay", delay, "error", e)
		if serr := r.sleep(ctx, delay); serr != nil {
			return nil, false, e
		}
	}
}

// backoff is exponential with full jitter over the upper half, so that
// concurrent runs hitting one rate limit do not retry in lockstep. A
// Retry-After hint, when longer, wins.
func (r *Router) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := r.backoffBase << attempt
	if d > r.backoffMax || d <= 0 {
		d = r.backoffMax
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if retryAfter > d {
		d = min(retryAfter, maxRetryAfter)
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithProvider registers p under name with the given route patterns
// (same syntax as ModelRoute.Match), for callers that build providers in
// code, such as tests of packages above this one. Call it before use.
func (r *Router) WithProvider(name string, p Provider, matches ...string) *Router {
	rp := &routedProvider{name: name, p: p, timeout: DefaultTimeout, maxRetries: DefaultMaxRetries}
	r.providers[name] = rp
	for _, m := range matches {
		r.addRoute(&route{match: m, provider: rp})
	}
	return r
}

var _ Provider = (*Router)(nil)
