package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// File search defaults, as OpenAI documents them for its current models.
const (
	DefaultFileSearchResults = 20
	// DefaultFileSearchTokens bounds the text of the results given to the
	// model in one call.
	DefaultFileSearchTokens = 16000
	// fileSearchRanker is the ranker reported on steps when the tool does
	// not name one.
	fileSearchRanker = "default_2024_08_21"
)

// FileSearch executes file_search calls over the vector stores of the run's
// assistant and thread.
type FileSearch struct {
	Store     store.Store
	Retrieval *retrieval.Service
	// MaxTokens bounds the result text given to the model per call
	// (default DefaultFileSearchTokens).
	MaxTokens int
	// Tokens counts the tokens of a result's text.
	Tokens func(text string) int
}

var _ BuiltinTool = (*FileSearch)(nil)

// Execute searches with the model's query and records the results, with
// their text, in the tool's shape.
func (fs *FileSearch) Execute(ctx context.Context, call *BuiltinCall) (schema.ToolCall, error) {
	var args struct {
		Query *string `json:"query"`
	}
	ranking := &schema.FileSearchRankingOptions{Ranker: fileSearchRanker}
	limit := DefaultFileSearchResults
	if c := call.Tool.FileSearch; c != nil {
		if c.MaxNumResults != nil {
			limit = *c.MaxNumResults
		}
		if ro := c.RankingOptions; ro != nil {
			if ro.Ranker != "" && ro.Ranker != "auto" {
				ranking.Ranker = ro.Ranker
			}
			if ro.ScoreThreshold != nil {
				ranking.ScoreThreshold = *ro.ScoreThreshold
			}
		}
	}
	out := schema.ToolCall{Type: schema.ToolFileSearch, FileSearch: &schema.FileSearchCall{RankingOptions: ranking, Results: []schema.FileSearchResult{}}}
	if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil || args.Query == nil || strings.TrimSpace(*args.Query) == "" {
		// The model gets the mistake back and may call again.
		out.FileSearch.Query = call.Arguments
		return out, nil
	}
	out.FileSearch.Query = *args.Query
	stores, err := fs.vectorStores(ctx, call)
	if err != nil {
		return schema.ToolCall{}, err
	}
	if len(stores) == 0 {
		return out, nil
	}
	results, err := fs.Retrieval.Search(ctx, call.ProjectID, stores, retrieval.SearchParams{
		Queries: []string{*args.Query}, MaxResults: limit, ScoreThreshold: ranking.ScoreThreshold})
	if err != nil {
		return schema.ToolCall{}, err
	}
	budget := fs.MaxTokens
	if budget <= 0 {
		budget = DefaultFileSearchTokens
	}
	for _, r := range results {
		n := utf8.RuneCountInString(r.Text) / 4
		if fs.Tokens != nil {
			n = fs.Tokens(r.Text)
		}
		if n > budget && len(out.FileSearch.Results) > 0 {
			break
		}
		budget -= n
		out.FileSearch.Results = append(out.FileSearch.Results, schema.FileSearchResult{FileID: r.FileID, FileName: r.Filename, Score: r.Score,
			Content: []schema.FileSearchContent{{Type: "text", Text: r.Text}}})
	}
	return out, nil
}

// vectorStores lists the stores the run searches: its assistant's and its
// thread's. An expired store fails the call, as OpenAI's runs did.
func (fs *FileSearch) vectorStores(ctx context.Context, call *BuiltinCall) ([]string, error) {
	var ids []string
	if a, err := fs.Store.AssistantGet(ctx, call.ProjectID, call.Run.AssistantID); err == nil {
		ids = append(ids, a.ToolResources.VectorStoreIDs()...)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	t, err := fs.Store.ThreadGet(ctx, call.ProjectID, call.Run.ThreadID)
	if err != nil {
		return nil, err
	}
	ids = append(ids, t.ToolResources.VectorStoreIDs()...)
	out := ids[:0]
	for _, id := range ids {
		vs, err := fs.Store.VectorStoreGet(ctx, call.ProjectID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since: nothing to search there
		}
		if err != nil {
			return nil, err
		}
		if vs.Status == schema.VectorStoreExpired {
			return nil, fmt.Errorf("vector store %s has expired; create a new one and attach it", id)
		}
		out = append(out, id)
	}
	return out, nil
}

// Replay renders a recorded search for the model: each result's text under
// a citation marker the answer is asked to quote.
func (fs *FileSearch) Replay(c schema.ToolCall) (arguments, output string) {
	if c.FileSearch == nil {
		return "{}", ""
	}
	args, _ := json.Marshal(map[string]string{"query": c.FileSearch.Query})
	if len(c.FileSearch.Results) == 0 {
		return string(args), "No results were found in the attached files."
	}
	var b strings.Builder
	b.WriteString("Results from the attached files. When you use a result, cite it by writing its marker, for example " +
		citationMarker(0, c.FileSearch.Results[0].FileName) + ", right after the statement it supports.\n")
	for i, r := range c.FileSearch.Results {
		fmt.Fprintf(&b, "\n%s (score %.3f)\n", citationMarker(i, r.FileName), r.Score)
		for _, part := range r.Content {
			b.WriteString(part.Text)
			b.WriteByte('\n')
		}
	}
	return string(args), b.String()
}

// citationMarker is how a result is named to the model, in OpenAI's style:
// 【index†filename】.
func citationMarker(i int, filename string) string {
	return "【" + strconv.Itoa(i) + "†" + filename + "】"
}

// citationPattern finds the markers in an answer: OpenAI's 【a:b†name】 and
// our 【b†name】.
var citationPattern = regexp.MustCompile(`【[0-9:]*†([^】\n]+)】`)

// citationAnnotations annotates each marker in text that names a file the
// run's searches returned (sources maps filename → file id).
func citationAnnotations(text string, sources map[string]string) []schema.Annotation {
	if len(sources) == 0 {
		return nil
	}
	var out []schema.Annotation
	chars, done := 0, 0
	for _, m := range citationPattern.FindAllStringSubmatchIndex(text, -1) {
		id, ok := sources[text[m[2]:m[3]]]
		if !ok {
			continue
		}
		chars += utf8.RuneCountInString(text[done:m[0]])
		n := utf8.RuneCountInString(text[m[0]:m[1]])
		out = append(out, schema.Annotation{Type: "file_citation", Text: text[m[0]:m[1]],
			FileCitation: &schema.FileCitation{FileID: id}, StartIndex: chars, EndIndex: chars + n})
		chars += n
		done = m[1]
	}
	return out
}
