package modelstub_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/assistd/assistd/internal/modelstub"
)

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func TestEmbeddingsOpenAIClient(t *testing.T) {
	stub, hs := newStub(t, "", modelstub.Options{})
	client := openAIClient(hs)
	inputs := []string{"The cat sat on the mat.", "A dog barked at the mailman.", "Vector stores index chunks."}
	res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Object != "list" || res.Model != "text-embedding-3-small" || len(res.Data) != len(inputs) {
		t.Fatalf("response: object %q model %q, %d data", res.Object, res.Model, len(res.Data))
	}
	wantTokens := 0
	for i, d := range res.Data {
		if d.Index != int64(i) || d.Object != "embedding" {
			t.Fatalf("data[%d]: index %d object %q", i, d.Index, d.Object)
		}
		if len(d.Embedding) != modelstub.DefaultEmbeddingDimensions {
			t.Fatalf("data[%d] has %d dimensions, want %d", i, len(d.Embedding), modelstub.DefaultEmbeddingDimensions)
		}
		if n := norm(d.Embedding); math.Abs(n-1) > 1e-5 {
			t.Fatalf("data[%d] has norm %v, want 1", i, n)
		}
		want := modelstub.EmbedText(inputs[i], modelstub.DefaultEmbeddingDimensions)
		for j := range want {
			if float32(d.Embedding[j]) != want[j] {
				t.Fatalf("data[%d][%d] = %v, EmbedText gives %v", i, j, d.Embedding[j], want[j])
			}
		}
		wantTokens += (len(inputs[i]) + 3) / 4
	}
	if res.Usage.PromptTokens != int64(wantTokens) || res.Usage.TotalTokens != int64(wantTokens) {
		t.Fatalf("usage %+v, want %d tokens", res.Usage, wantTokens)
	}

	res, err = client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:      "nomic-embed-text",
		Input:      openai.EmbeddingNewParamsInputUnion{OfString: openai.String("one input")},
		Dimensions: openai.Int(64),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 1 || len(res.Data[0].Embedding) != 64 {
		t.Fatalf("got %d data, want one of 64 dimensions", len(res.Data))
	}

	reqs := stub.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/embeddings" || reqs[0].Model != "text-embedding-3-small" || reqs[1].Model != "nomic-embed-text" {
		t.Fatalf("recorded %+v", reqs)
	}
}

func TestEmbeddingsAreMildlySemantic(t *testing.T) {
	const dims = 256
	e := func(s string) []float32 { return modelstub.EmbedText(s, dims) }
	related := cosine(e("How do I reset my router password?"), e("Resetting the password of a router"))
	unrelated := cosine(e("How do I reset my router password?"), e("Banana bread needs ripe bananas and flour"))
	plural := cosine(e("vector"), e("vectors"))
	t.Logf("cosine: related %.3f, unrelated %.3f, vector/vectors %.3f", related, unrelated, plural)
	if related < 0.3 || related < 3*math.Abs(unrelated) {
		t.Fatalf("related texts: cosine %.3f, want >= 0.3 and well above unrelated ones", related)
	}
	if math.Abs(unrelated) > 0.25 {
		t.Fatalf("unrelated texts: cosine %.3f, want about 0", unrelated)
	}
	if plural < 0.3 {
		t.Fatalf("vector/vectors: cosine %.3f, want >= 0.3", plural)
	}
	if c := cosine(e("Same TEXT, same vector!"), e("same text same vector")); c < 0.999 {
		t.Fatalf("case and punctuation changed the vector: cosine %.4f", c)
	}
	if v := e("!!! ..."); norm(toF64(v)) != 0 {
		t.Fatal("a text without words has a non-zero vector")
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestEmbeddingsBase64(t *testing.T) {
	_, hs := newStub(t, "", modelstub.Options{})
	res, err := http.Post(hs.URL+"/v1/embeddings", "application/json", strings.NewReader(
		`{"model": "m", "input": ["alpha beta", "gamma"], "encoding_format": "base64", "dimensions": 32}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data []struct {
			Index     int    `json:"index"`
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	mustJSON(t, readAll(t, res), &body)
	if len(body.Data) != 2 {
		t.Fatalf("got %d data", len(body.Data))
	}
	for i, d := range body.Data {
		raw, err := base64.StdEncoding.DecodeString(d.Embedding)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 32*4 {
			t.Fatalf("data[%d]: %d bytes, want 128", i, len(raw))
		}
		want := modelstub.EmbedText([]string{"alpha beta", "gamma"}[i], 32)
		for j := range want {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])); got != want[j] {
				t.Fatalf("data[%d][%d] = %v, want %v", i, j, got, want[j])
			}
		}
	}
}

func TestEmbeddingsRequests(t *testing.T) {
	many := make([]string, 2049)
	for i := range many {
		many[i] = `"x"`
	}
	tests := []struct {
		name   string
		method string
		body   string
		status int
		count  int
	}{
		{"string", "POST", `{"model": "m", "input": "hello"}`, 200, 1},
		{"strings", "POST", `{"model": "m", "input": ["a", "b", "c"]}`, 200, 3},
		{"token ids", "POST", `{"model": "m", "input": [1, 2, 3]}`, 200, 1},
		{"arrays of token ids", "POST", `{"model": "m", "input": [[1, 2], [3]]}`, 200, 2},
		{"float format", "POST", `{"model": "m", "input": "a", "encoding_format": "float"}`, 200, 1},
		{"no model", "POST", `{"input": "hello"}`, 400, 0},
		{"no input", "POST", `{"model": "m"}`, 400, 0},
		{"empty string", "POST", `{"model": "m", "input": ["a", ""]}`, 400, 0},
		{"empty array", "POST", `{"model": "m", "input": []}`, 400, 0},
		{"empty token array", "POST", `{"model": "m", "input": [[1], []]}`, 400, 0},
		{"object input", "POST", `{"model": "m", "input": {"a": 1}}`, 400, 0},
		{"bad format", "POST", `{"model": "m", "input": "a", "encoding_format": "int8"}`, 400, 0},
		{"zero dimensions", "POST", `{"model": "m", "input": "a", "dimensions": 0}`, 400, 0},
		{"too many inputs", "POST", `{"model": "m", "input": [` + strings.Join(many, ",") + `]}`, 400, 0},
		{"not JSON", "POST", `{"model": `, 400, 0},
		{"GET", "GET", ``, 405, 0},
	}
	_, hs := newStub(t, "", modelstub.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, hs.URL+"/embeddings", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, res)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				var e struct {
					Error struct {
						Message string `json:"message"`
						Type    string `json:"type"`
					} `json:"error"`
				}
				mustJSON(t, body, &e)
				if e.Error.Message == "" || e.Error.Type != "invalid_request_error" {
					t.Fatalf("error body %s", body)
				}
				return
			}
			var ok struct {
				Data []struct {
					Embedding []float64 `json:"embedding"`
				} `json:"data"`
			}
			mustJSON(t, body, &ok)
			if len(ok.Data) != tt.count {
				t.Fatalf("%d data, want %d", len(ok.Data), tt.count)
			}
		})
	}
}

func TestEmbeddingsScriptedErrors(t *testing.T) {
	stub, hs := newStub(t, `{"rules": [
		{"match": {"user_contains": "flaky"}, "reply": {"fail_times": 2, "error": {"status": 429, "message": "slow down", "retry_after": 0.01}}},
		{"match": {"model": "broken-*"}, "reply": {"malformed": true}},
		{"match": {"user_contains": "slow"}, "reply": {"latency": "150ms"}},
		{"match": {"user_contains": "hang"}, "reply": {"hang": true}}
	]}`, modelstub.Options{})
	client := openAIClient(hs)
	embed := func(ctx context.Context, model string, in ...string) error {
		_, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: openai.EmbeddingModel(model),
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: in},
		})
		return err
	}
	for i := range 2 {
		err := embed(context.Background(), "m", "ok", "a flaky input")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || !strings.Contains(apiErr.Message, "slow down") {
			t.Fatalf("request %d: err = %v, want the scripted 429", i, err)
		}
		if ra := apiErr.Response.Header.Get("Retry-After"); ra != "1" {
			t.Fatalf("Retry-After %q, want 1", ra)
		}
	}
	if err := embed(context.Background(), "m", "a flaky input"); err != nil {
		t.Fatalf("third request: %v", err)
	}
	if err := embed(context.Background(), "broken-1", "x"); err == nil {
		t.Fatal("malformed reply parsed")
	}
	start := time.Now()
	if err := embed(context.Background(), "m", "slow one"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency rule answered in %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := embed(ctx, "m", "hang"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: err = %v", err)
	}

	reqs := stub.Requests()
	var rules []string
	for _, r := range reqs {
		rules = append(rules, fmt.Sprint(r.Rule))
	}
	if got := strings.Join(rules, ","); got != "0,0,0,1,2,3" {
		t.Fatalf("rules that answered: %s, want 0,0,0,1,2,3", got)
	}
}
