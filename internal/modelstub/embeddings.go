package modelstub

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Embeddings (POST /v1/embeddings) follow OpenAI's wire: input is a string,
// an array of strings, an array of token ids or an array of those;
// encoding_format "float" (default) or "base64" (little-endian float32);
// dimensions sets the vector length (default DefaultEmbeddingDimensions).
//
// The vectors are deterministic and mildly semantic, so that tests of
// vector search mean something: feature hashing of the lowercased words
// (weight 1) and of their character trigrams (weight 1/2 each) into signed
// buckets, L2-normalized. Texts that share words have a high cosine
// similarity; unrelated texts are near 0. Token id inputs hash each id as a
// word. Usage counts ceil(characters/4) per text input, one per token id.
//
// Embedding requests go through the Script like chat requests, with the
// inputs joined by newlines as the last user message: a rule can match them
// by user_contains or model and inject errors (error, fail_times), latency,
// hang or a malformed body; text and tool calls are ignored.

// DefaultEmbeddingDimensions is the vector length when the request sets no
// dimensions.
const DefaultEmbeddingDimensions = 256

// Limits of one embeddings request, as OpenAI enforces them.
const (
	maxEmbeddingInputs     = 2048
	maxEmbeddingDimensions = 3072
)

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

// embeddingInput is one input: a text, or token ids when text is not set.
type embeddingInput struct {
	text   string
	tokens []int64
	isText bool
}

// parseEmbeddingInput reads input: "s", ["s", ...], [1, 2], or [[1, 2], ...].
func parseEmbeddingInput(raw json.RawMessage) ([]embeddingInput, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("'input' is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []embeddingInput{{text: s, isText: true}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.New("'input' must be a string, an array of strings, an array of token ids or an array of arrays of token ids")
	}
	if len(items) == 0 {
		return nil, errors.New("'input' must not be an empty array")
	}
	// An array of numbers is one input of token ids.
	var ids []int64
	if err := json.Unmarshal(raw, &ids); err == nil {
		return []embeddingInput{{tokens: ids}}, nil
	}
	out := make([]embeddingInput, 0, len(items))
	for i, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err == nil {
			out = append(out, embeddingInput{text: s, isText: true})
			continue
		}
		var ids []int64
		if err := json.Unmarshal(it, &ids); err != nil {
			return nil, fmt.Errorf("'input[%d]' must be a string or an array of token ids", i)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("'input[%d]' must not be an empty array", i)
		}
		out = append(out, embeddingInput{tokens: ids})
	}
	return out, nil
}

// serveEmbeddings answers POST /v1/embeddings; rec is the request's record,
// not yet stored.
func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request, rec RecordedRequest) {
	if !allowMethod(w, r, WireOpenAI, http.MethodPost) {
		s.record(rec)
		return
	}
	var req embeddingRequest
	if err := json.Unmarshal(rec.Body, &req); err != nil {
		s.record(rec)
		writeError(w, WireOpenAI, http.StatusBadRequest, "invalid JSON body: "+err.Error(), 0)
		return
	}
	rec.Model = req.Model
	inputs, err := parseEmbeddingInput(req.Input)
	if err == nil {
		err = validateEmbeddingRequest(&req, inputs)
	}
	if err != nil {
		s.record(rec)
		writeError(w, WireOpenAI, http.StatusBadRequest, err.Error(), 0)
		return
	}

	conv := &conversation{wire: WireOpenAI, model: req.Model, lastRole: "user"}
	texts := make([]string, 0, len(inputs))
	for _, in := range inputs {
		if in.isText {
			texts = append(texts, in.text)
		}
	}
	conv.lastUser = strings.Join(texts, "\n")
	reply, idx := s.choose(conv)
	if idx < len(s.script.Rules) {
		rec.Rule = idx
	}
	s.record(rec)
	pl := s.plan(conv, reply, s.failing(reply, idx))

	ctx, cancel := s.requestContext(r.Context())
	defer cancel()
	if !s.await(ctx, w, r, WireOpenAI, pl) {
		return
	}
	w.Header().Set("X-Request-Id", "req_"+randomID(24))
	if pl.malformed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, `))
		return
	}

	dims := DefaultEmbeddingDimensions
	if req.Dimensions != nil {
		dims = *req.Dimensions
	}
	data := make([]map[string]any, len(inputs))
	usage := 0
	for i, in := range inputs {
		var vec []float32
		if in.isText {
			vec = EmbedText(in.text, dims)
			usage += (utf8.RuneCountInString(in.text) + 3) / 4
		} else {
			vec = embedTokens(in.tokens, dims)
			usage += len(in.tokens)
		}
		var emb any = vec
		if req.EncodingFormat == "base64" {
			emb = encodeFloat32s(vec)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  map[string]int{"prompt_tokens": usage, "total_tokens": usage},
	})
}

func validateEmbeddingRequest(req *embeddingRequest, inputs []embeddingInput) error {
	if req.Model == "" {
		return errors.New("you must provide a model parameter")
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return fmt.Errorf("'encoding_format' %q: want \"float\" or \"base64\"", req.EncodingFormat)
	}
	if d := req.Dimensions; d != nil && (*d < 1 || *d > maxEmbeddingDimensions) {
		return fmt.Errorf("'dimensions' %d: want 1 to %d", *d, maxEmbeddingDimensions)
	}
	if len(inputs) > maxEmbeddingInputs {
		return fmt.Errorf("'input' has %d items, at most %d are allowed", len(inputs), maxEmbeddingInputs)
	}
	for i, in := range inputs {
		if in.isText && in.text == "" {
			return fmt.Errorf("'input[%d]' is an empty string", i)
		}
	}
	return nil
}

// EmbedText returns the stub's embedding of text with dims dimensions (a
// unit vector, or all zeros for a text with no letters or digits): the
// vector POST /v1/embeddings answers, for tests that compute expected
// similarities.
func EmbedText(text string, dims int) []float32 {
	acc := make([]float64, dims)
	for _, word := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		addFeature(acc, "w:"+word, 1)
		// Trigrams of the word with its boundaries, so that "vector" and
		// "vectors" are close too.
		runes := []rune("^" + word + "$")
		for i := 0; i+3 <= len(runes); i++ {
			addFeature(acc, "t:"+string(runes[i:i+3]), 0.5)
		}
	}
	return normalize(acc)
}

func embedTokens(ids []int64, dims int) []float32 {
	acc := make([]float64, dims)
	for _, id := range ids {
		addFeature(acc, fmt.Sprintf("id:%d", id), 1)
	}
	return normalize(acc)
}

// addFeature adds weight to the feature's bucket, with a sign from the
// hash so that collisions cancel out on average.
func addFeature(acc []float64, feature string, weight float64) {
	h := fnv.New64a()
	h.Write([]byte(feature))
	sum := h.Sum64()
	i := int(sum % uint64(len(acc)))
	if sum>>63 == 1 {
		weight = -weight
	}
	acc[i] += weight
}

func normalize(acc []float64) []float32 {
	var norm float64
	for _, v := range acc {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	out := make([]float32, len(acc))
	if norm == 0 {
		return out
	}
	for i, v := range acc {
		out[i] = float32(v / norm)
	}
	return out
}

// encodeFloat32s is OpenAI's base64 encoding: the little-endian float32s.
func encodeFloat32s(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
