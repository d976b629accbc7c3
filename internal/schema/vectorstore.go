package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Vector store statuses.
const (
	VectorStoreExpired    = "expired"
	VectorStoreInProgress = "in_progress"
	VectorStoreCompleted  = "completed"
)

// Vector store file statuses; a file batch's status takes the same values.
const (
	VectorStoreFileInProgress = "in_progress"
	VectorStoreFileCompleted  = "completed"
	VectorStoreFileCancelled  = "cancelled"
	VectorStoreFileFailed     = "failed"
)

// Vector store file error codes (last_error.code).
const (
	VectorStoreFileErrServer          = "server_error"
	VectorStoreFileErrUnsupportedFile = "unsupported_file"
	VectorStoreFileErrInvalidFile     = "invalid_file"
)

// Vector store limits from the spec.
const (
	MaxVectorStoreCreateFiles = 500
	MaxFileBatchFiles         = 2000
	MinExpiresAfterDays       = 1
	MaxExpiresAfterDays       = 365
	secondsPerDay             = 86400
)

// VectorStoreExpiresAfter is a vector store's expiration policy: it expires
// Days days after its last activity.
type VectorStoreExpiresAfter struct {
	Anchor string `json:"anchor"`
	Days   int64  `json:"days"`
}

// Validate checks the anchor (only last_active_at exists) and the range of days.
func (e VectorStoreExpiresAfter) Validate(param string) error {
	if e.Anchor != "last_active_at" {
		return Invalid(param+".anchor", "Invalid '%s.anchor': expected 'last_active_at', got %q.", param, e.Anchor)
	}
	if e.Days < MinExpiresAfterDays || e.Days > MaxExpiresAfterDays {
		return Invalid(param+".days", "Invalid '%s.days': expected an integer between %d and %d, got %d.", param, MinExpiresAfterDays, MaxExpiresAfterDays, e.Days)
	}
	return nil
}

// VectorStoreFileCounts counts a store's (or batch's) files by status.
type VectorStoreFileCounts struct {
	InProgress int64 `json:"in_progress"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
	Cancelled  int64 `json:"cancelled"`
	Total      int64 `json:"total"`
}

// Add counts n more files in status (Total included).
func (c *VectorStoreFileCounts) Add(status string, n int64) {
	switch status {
	case VectorStoreFileInProgress:
		c.InProgress += n
	case VectorStoreFileCompleted:
		c.Completed += n
	case VectorStoreFileFailed:
		c.Failed += n
	case VectorStoreFileCancelled:
		c.Cancelled += n
	}
	c.Total += n
}

// VectorStore is the "vector_store" object. Status, FileCounts and
// UsageBytes are derived from its files by the store on every read.
type VectorStore struct {
	ID           string                   `json:"id"`
	Object       string                   `json:"object"`
	CreatedAt    int64                    `json:"created_at"`
	Name         string                   `json:"name"`
	UsageBytes   int64                    `json:"usage_bytes"`
	FileCounts   VectorStoreFileCounts    `json:"file_counts"`
	Status       string                   `json:"status"`
	ExpiresAfter *VectorStoreExpiresAfter `json:"expires_after,omitempty"`
	ExpiresAt    *int64                   `json:"expires_at"`
	LastActiveAt *int64                   `json:"last_active_at"`
	Metadata     Metadata                 `json:"metadata"`
	// EmbeddingModel is the embedding model the store's chunks were embedded
	// with ("" for none). It is not part of the API object: the store keeps
	// it in a column of its own.
	EmbeddingModel string `json:"-"`
}

// SetActive records activity at now: last_active_at becomes now and
// expires_at follows from expires_after.
func (v *VectorStore) SetActive(now int64) {
	v.LastActiveAt = &now
	v.RefreshExpiresAt()
}

// RefreshExpiresAt recomputes expires_at from expires_after and
// last_active_at (created_at when there was no activity yet); no policy
// means no expiry.
func (v *VectorStore) RefreshExpiresAt() {
	if v.ExpiresAfter == nil {
		v.ExpiresAt = nil
		return
	}
	anchor := v.CreatedAt
	if v.LastActiveAt != nil {
		anchor = *v.LastActiveAt
	}
	at := anchor + v.ExpiresAfter.Days*secondsPerDay
	v.ExpiresAt = &at
}

// Derive sets the fields computed from the store's files: counts, usage
// and status (expired once expires_at <= now, in_progress while a file is,
// else completed).
func (v *VectorStore) Derive(counts VectorStoreFileCounts, usageBytes, now int64) {
	v.FileCounts = counts
	v.UsageBytes = usageBytes
	switch {
	case v.ExpiresAt != nil && *v.ExpiresAt <= now:
		v.Status = VectorStoreExpired
	case counts.InProgress > 0:
		v.Status = VectorStoreInProgress
	default:
		v.Status = VectorStoreCompleted
	}
}

// VectorStoreFileError is a vector store file's last_error.
type VectorStoreFileError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// VectorStoreFile is the "vector_store.file" object; its id is the file's.
type VectorStoreFile struct {
	ID               string                `json:"id"`
	Object           string                `json:"object"`
	UsageBytes       int64                 `json:"usage_bytes"`
	CreatedAt        int64                 `json:"created_at"`
	VectorStoreID    string                `json:"vector_store_id"`
	Status           string                `json:"status"`
	LastError        *VectorStoreFileError `json:"last_error"`
	ChunkingStrategy *ChunkingStrategy     `json:"chunking_strategy,omitempty"`
	// Attributes are the file's filterable key-value pairs (null when unset,
	// as the spec allows).
	Attributes map[string]any `json:"attributes"`
}

// VectorStoreFileBatch is the "vector_store.files_batch" object. Status and
// FileCounts are derived from its files by the store.
type VectorStoreFileBatch struct {
	ID            string                `json:"id"`
	Object        string                `json:"object"`
	CreatedAt     int64                 `json:"created_at"`
	VectorStoreID string                `json:"vector_store_id"`
	Status        string                `json:"status"`
	FileCounts    VectorStoreFileCounts `json:"file_counts"`
}

// Derive sets the batch's counts and status: in_progress while a file is,
// else cancelled if the batch was cancelled, failed if every file failed,
// else completed.
func (b *VectorStoreFileBatch) Derive(counts VectorStoreFileCounts, cancelled bool) {
	b.FileCounts = counts
	switch {
	case counts.InProgress > 0:
		b.Status = VectorStoreFileInProgress
	case cancelled:
		b.Status = VectorStoreFileCancelled
	case counts.Total > 0 && counts.Failed == counts.Total:
		b.Status = VectorStoreFileFailed
	default:
		b.Status = VectorStoreFileCompleted
	}
}

// Chunking strategy types.
const (
	ChunkingAuto   = "auto"
	ChunkingStatic = "static"
	// ChunkingOther is reported for files chunked without a known strategy.
	ChunkingOther = "other"
)

// Chunking defaults and limits from the spec (auto means static 800/400).
const (
	DefaultMaxChunkSizeTokens = 800
	DefaultChunkOverlapTokens = 400
	MinChunkSizeTokens        = 100
	MaxChunkSizeTokens        = 4096
)

// ChunkingStrategy is a chunking_strategy: {"type":"auto"} or
// {"type":"static","static":{...}} in requests, static (or other) on files.
type ChunkingStrategy struct {
	Type   string          `json:"type"`
	Static *StaticChunking `json:"static,omitempty"`
	// missing names a required static field the JSON lacked, for Validate.
	missing string
}

// StaticChunking is the static strategy's parameters.
type StaticChunking struct {
	MaxChunkSizeTokens int `json:"max_chunk_size_tokens"`
	ChunkOverlapTokens int `json:"chunk_overlap_tokens"`
}

// UnmarshalJSON decodes strictly and records a missing static field.
func (c *ChunkingStrategy) UnmarshalJSON(data []byte) error {
	var v struct {
		Type   string `json:"type"`
		Static *struct {
			MaxChunkSizeTokens *int `json:"max_chunk_size_tokens"`
			ChunkOverlapTokens *int `json:"chunk_overlap_tokens"`
		} `json:"static"`
	}
	if err := DecodeStrict(data, &v); err != nil {
		return err
	}
	*c = ChunkingStrategy{Type: v.Type}
	if st := v.Static; st != nil {
		c.Static = &StaticChunking{}
		switch {
		case st.MaxChunkSizeTokens == nil:
			c.missing = "max_chunk_size_tokens"
		case st.ChunkOverlapTokens == nil:
			c.missing = "chunk_overlap_tokens"
		}
		if st.MaxChunkSizeTokens != nil {
			c.Static.MaxChunkSizeTokens = *st.MaxChunkSizeTokens
		}
		if st.ChunkOverlapTokens != nil {
			c.Static.ChunkOverlapTokens = *st.ChunkOverlapTokens
		}
	}
	return nil
}

// Validate checks a request's strategy: auto, or static with both fields,
// a size of 100..4096 tokens and an overlap of at most half the size.
func (c *ChunkingStrategy) Validate(param string) error {
	switch c.Type {
	case ChunkingAuto:
		if c.Static != nil {
			return Invalid(param+".static", "Invalid '%s.static': only allowed when type is 'static'.", param)
		}
	case ChunkingStatic:
		st := c.Static
		if st == nil {
			return Invalid(param+".static", "Missing required parameter: '%s.static'.", param)
		}
		if c.missing != "" {
			return Invalid(param+".static."+c.missing, "Missing required parameter: '%s.static.%s'.", param, c.missing)
		}
		if st.MaxChunkSizeTokens < MinChunkSizeTokens || st.MaxChunkSizeTokens > MaxChunkSizeTokens {
			return Invalid(param+".static.max_chunk_size_tokens", "Invalid '%s.static.max_chunk_size_tokens': expected an integer between %d and %d, got %d.", param, MinChunkSizeTokens, MaxChunkSizeTokens, st.MaxChunkSizeTokens)
		}
		if st.ChunkOverlapTokens < 0 {
			return Invalid(param+".static.chunk_overlap_tokens", "Invalid '%s.static.chunk_overlap_tokens': expected a non-negative integer, got %d.", param, st.ChunkOverlapTokens)
		}
		if st.ChunkOverlapTokens > st.MaxChunkSizeTokens/2 {
			return Invalid(param+".static.chunk_overlap_tokens", "Invalid '%s.static.chunk_overlap_tokens': chunk_overlap_tokens (%d) must not exceed half of max_chunk_size_tokens (%d).", param, st.ChunkOverlapTokens, st.MaxChunkSizeTokens)
		}
	case "":
		return Invalid(param+".type", "Missing required parameter: '%s.type'.", param)
	default:
		return Invalid(param+".type", "Invalid '%s.type': expected one of 'auto' or 'static', got %q.", param, c.Type)
	}
	return nil
}

// Resolved returns the form stored on a file and served: auto (or no
// strategy, nil c) becomes static 800/400, static is copied.
func (c *ChunkingStrategy) Resolved() *ChunkingStrategy {
	if c == nil || c.Type == ChunkingAuto || c.Static == nil {
		return &ChunkingStrategy{Type: ChunkingStatic, Static: &StaticChunking{
			MaxChunkSizeTokens: DefaultMaxChunkSizeTokens, ChunkOverlapTokens: DefaultChunkOverlapTokens,
		}}
	}
	st := *c.Static
	return &ChunkingStrategy{Type: c.Type, Static: &st}
}

// Vector store file attribute limits from the spec.
const (
	MaxAttributes        = 16
	MaxAttributeKeyLen   = 64
	MaxAttributeValueLen = 512
)

// ValidateAttributes checks a file's attributes: at most 16 keys of at most
// 64 characters, each value a string of at most 512 characters, a number
// or a boolean.
func ValidateAttributes(param string, attrs map[string]any) error {
	if len(attrs) > MaxAttributes {
		return Invalid(param, "Invalid '%s': too many properties. Expected an object with at most %d properties, but got an object with %d properties instead.", param, MaxAttributes, len(attrs))
	}
	for k, v := range attrs {
		if n := utf8.RuneCountInString(k); n > MaxAttributeKeyLen {
			return Invalid(param, "Invalid '%s': attribute key '%s' is too long. Expected a string with maximum length %d.", param, k, MaxAttributeKeyLen)
		}
		switch x := v.(type) {
		case string:
			if n := utf8.RuneCountInString(x); n > MaxAttributeValueLen {
				return Invalid(param+"."+k, "Invalid '%s.%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", param, k, MaxAttributeValueLen, n)
			}
		case bool, float64, float32, int, int64, json.Number:
		default:
			return Invalid(param+"."+k, "Invalid '%s.%s': expected a string, number or boolean.", param, k)
		}
	}
	return nil
}

// VectorStoreCreateRequest is the body of POST /v1/vector_stores.
type VectorStoreCreateRequest struct {
	FileIDs []string `json:"file_ids"`
	Name    *string  `json:"name"`
	// Description is accepted as the spec allows but not part of the object.
	Description      *string                  `json:"description"`
	ExpiresAfter     *VectorStoreExpiresAfter `json:"expires_after"`
	ChunkingStrategy *ChunkingStrategy        `json:"chunking_strategy"`
	Metadata         Metadata                 `json:"metadata"`
	// EmbeddingModel is an assistd extension: the embedding model of the
	// store, one the server is configured with, or "none" for keyword
	// search only; absent means the server's default.
	EmbeddingModel *string `json:"embedding_model"`
}

// Validate checks every field against the spec.
func (r *VectorStoreCreateRequest) Validate() error {
	if err := validateFileIDs("file_ids", r.FileIDs, 0, MaxVectorStoreCreateFiles); err != nil {
		return err
	}
	if r.ExpiresAfter != nil {
		if err := r.ExpiresAfter.Validate("expires_after"); err != nil {
			return err
		}
	}
	if r.ChunkingStrategy != nil {
		if len(r.FileIDs) == 0 {
			return Invalid("chunking_strategy", "Invalid 'chunking_strategy': only allowed when 'file_ids' is non-empty.")
		}
		if err := r.ChunkingStrategy.Validate("chunking_strategy"); err != nil {
			return err
		}
	}
	return r.Metadata.Validate("metadata")
}

// VectorStore builds the new object, active at createdAt. Its status is
// in_progress when it starts with files.
func (r *VectorStoreCreateRequest) VectorStore(id string, createdAt int64) *VectorStore {
	v := &VectorStore{ID: id, Object: "vector_store", CreatedAt: createdAt, ExpiresAfter: r.ExpiresAfter, Metadata: r.Metadata}
	if r.Name != nil {
		v.Name = *r.Name
	}
	v.SetActive(createdAt)
	var counts VectorStoreFileCounts
	counts.Add(VectorStoreFileInProgress, int64(len(r.FileIDs)))
	v.Derive(counts, 0, createdAt)
	return v
}

// VectorStoreModifyRequest is the body of POST /v1/vector_stores/{id}.
type VectorStoreModifyRequest struct {
	Name         Field[string]                  `json:"name"`
	ExpiresAfter Field[VectorStoreExpiresAfter] `json:"expires_after"`
	Metadata     Field[Metadata]                `json:"metadata"`
}

// Validate checks the fields that are present.
func (r *VectorStoreModifyRequest) Validate() error {
	if e := r.ExpiresAfter.Ptr(); e != nil {
		if err := e.Validate("expires_after"); err != nil {
			return err
		}
	}
	if r.Metadata.Set {
		return r.Metadata.Value.Validate("metadata")
	}
	return nil
}

// Patch applies the present fields: a null name becomes "", a null
// expires_after removes the policy (and expires_at with it).
func (r *VectorStoreModifyRequest) Patch(v *VectorStore) {
	if r.Name.Set {
		v.Name = r.Name.Value
	}
	if r.ExpiresAfter.Set {
		v.ExpiresAfter = r.ExpiresAfter.Ptr()
		v.RefreshExpiresAt()
	}
	if r.Metadata.Set {
		v.Metadata = r.Metadata.Value
	}
}

// VectorStoreFileCreateRequest is the body of POST
// /v1/vector_stores/{id}/files, and one entry of a batch's files.
type VectorStoreFileCreateRequest struct {
	FileID           string            `json:"file_id"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy"`
	Attributes       map[string]any    `json:"attributes"`
}

// Validate checks the file id, strategy and attributes.
func (r *VectorStoreFileCreateRequest) Validate() error { return r.validate("") }

// validate names params under prefix ("files[3]." inside a batch).
func (r *VectorStoreFileCreateRequest) validate(prefix string) error {
	if r.FileID == "" {
		return Invalid(prefix+"file_id", "Missing required parameter: '%sfile_id'.", prefix)
	}
	if r.ChunkingStrategy != nil {
		if err := r.ChunkingStrategy.Validate(prefix + "chunking_strategy"); err != nil {
			return err
		}
	}
	return ValidateAttributes(prefix+"attributes", r.Attributes)
}

// File builds the new vector store file, in_progress, with the resolved
// chunking strategy.
func (r *VectorStoreFileCreateRequest) File(vectorStoreID string, createdAt int64) *VectorStoreFile {
	return NewVectorStoreFile(r.FileID, vectorStoreID, createdAt, r.ChunkingStrategy, r.Attributes)
}

// NewVectorStoreFile returns an in_progress vector store file of fileID
// chunked by strategy (nil means auto).
func NewVectorStoreFile(fileID, vectorStoreID string, createdAt int64, strategy *ChunkingStrategy, attrs map[string]any) *VectorStoreFile {
	return &VectorStoreFile{
		ID: fileID, Object: "vector_store.file", CreatedAt: createdAt, VectorStoreID: vectorStoreID,
		Status: VectorStoreFileInProgress, ChunkingStrategy: strategy.Resolved(), Attributes: attrs,
	}
}

// VectorStoreFileUpdateRequest is the body of POST
// /v1/vector_stores/{id}/files/{file_id}.
type VectorStoreFileUpdateRequest struct {
	Attributes Field[map[string]any] `json:"attributes"`
}

// Validate requires attributes (null clears them).
func (r *VectorStoreFileUpdateRequest) Validate() error {
	if !r.Attributes.Set {
		return Invalid("attributes", "Missing required parameter: 'attributes'.")
	}
	return ValidateAttributes("attributes", r.Attributes.Value)
}

// Patch replaces the file's attributes.
func (r *VectorStoreFileUpdateRequest) Patch(f *VectorStoreFile) {
	f.Attributes = nil
	if p := r.Attributes.Ptr(); p != nil {
		f.Attributes = *p
	}
}

// VectorStoreFileBatchCreateRequest is the body of POST
// /v1/vector_stores/{id}/file_batches: either file_ids (sharing
// chunking_strategy and attributes) or files (each with its own).
type VectorStoreFileBatchCreateRequest struct {
	FileIDs          []string                       `json:"file_ids"`
	Files            []VectorStoreFileCreateRequest `json:"files"`
	ChunkingStrategy *ChunkingStrategy              `json:"chunking_strategy"`
	Attributes       map[string]any                 `json:"attributes"`
}

// Validate checks that exactly one of file_ids and files holds 1..2000
// entries, and each entry.
func (r *VectorStoreFileBatchCreateRequest) Validate() error {
	switch {
	case r.FileIDs != nil && r.Files != nil:
		return Invalid("files", "Invalid 'files': mutually exclusive with 'file_ids'.")
	case r.FileIDs == nil && r.Files == nil:
		return Invalid("file_ids", "Missing required parameter: 'file_ids' (or 'files').")
	case r.Files != nil:
		if len(r.Files) < 1 || len(r.Files) > MaxFileBatchFiles {
			return Invalid("files", "Invalid 'files': expected an array with between 1 and %d items, got %d.", MaxFileBatchFiles, len(r.Files))
		}
		for i := range r.Files {
			if err := r.Files[i].validate(fmt.Sprintf("files[%d].", i)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := validateFileIDs("file_ids", r.FileIDs, 1, MaxFileBatchFiles); err != nil {
		return err
	}
	if r.ChunkingStrategy != nil {
		if err := r.ChunkingStrategy.Validate("chunking_strategy"); err != nil {
			return err
		}
	}
	return ValidateAttributes("attributes", r.Attributes)
}

// Entries returns one file request per file of the batch: with file_ids,
// each shares the batch's strategy and attributes; with files, the
// entries are the files as given.
func (r *VectorStoreFileBatchCreateRequest) Entries() []VectorStoreFileCreateRequest {
	if r.Files != nil {
		return r.Files
	}
	out := make([]VectorStoreFileCreateRequest, len(r.FileIDs))
	for i, id := range r.FileIDs {
		out[i] = VectorStoreFileCreateRequest{FileID: id, ChunkingStrategy: r.ChunkingStrategy, Attributes: r.Attributes}
	}
	return out
}

func validateFileIDs(param string, ids []string, minN, maxN int) error {
	if len(ids) < minN || len(ids) > maxN {
		if len(ids) > maxN {
			return Invalid(param, "Invalid '%s': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", param, maxN, len(ids))
		}
		return Invalid(param, "Invalid '%s': empty array. Expected an array with minimum length %d, but got an empty array instead.", param, minN)
	}
	for i, id := range ids {
		if id == "" {
			return Invalid(fmt.Sprintf("%s[%d]", param, i), "Invalid file id: empty string.")
		}
	}
	return nil
}

// Search limits from the spec.
const (
	DefaultSearchResults = 10
	MaxSearchResults     = 50
)

// SearchQuery is a search's query: one string or a list of strings on the
// wire, always a list here.
type SearchQuery []string

// UnmarshalJSON accepts a string or an array of strings.
func (q *SearchQuery) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*q = SearchQuery{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	if list == nil {
		list = []string{} // null: present but empty, for Validate to refuse
	}
	*q = list
	return nil
}

// VectorStoreSearchRequest is the body of POST /v1/vector_stores/{id}/search.
type VectorStoreSearchRequest struct {
	Query          SearchQuery     `json:"query"`
	RewriteQuery   bool            `json:"rewrite_query"`
	MaxNumResults  *int            `json:"max_num_results"`
	Filters        *Filter         `json:"filters"`
	RankingOptions *RankingOptions `json:"ranking_options"`
}

// Validate checks the query, result count, filters and ranking options.
func (r *VectorStoreSearchRequest) Validate() error {
	if r.Query == nil {
		return Invalid("query", "Missing required parameter: 'query'.")
	}
	if len(r.Query) == 0 {
		return Invalid("query", "Invalid 'query': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	for i, q := range r.Query {
		if q == "" {
			if len(r.Query) == 1 {
				return Invalid("query", "Invalid 'query': expected a non-empty string.")
			}
			return Invalid(fmt.Sprintf("query[%d]", i), "Invalid 'query[%d]': expected a non-empty string.", i)
		}
	}
	if n := r.MaxNumResults; n != nil && (*n < 1 || *n > MaxSearchResults) {
		return Invalid("max_num_results", "Invalid 'max_num_results': expected an integer between 1 and %d, got %d.", MaxSearchResults, *n)
	}
	if r.Filters != nil {
		if err := r.Filters.Validate("filters"); err != nil {
			return err
		}
	}
	if ro := r.RankingOptions; ro != nil {
		switch ro.Ranker {
		case "", "none", "auto", "default-2024-11-15":
		default:
			return Invalid("ranking_options.ranker", "Invalid 'ranking_options.ranker': expected one of 'none', 'auto' or 'default-2024-11-15', got %q.", ro.Ranker)
		}
		if st := ro.ScoreThreshold; st != nil && (*st < 0 || *st > 1) {
			return Invalid("ranking_options.score_threshold", "Invalid 'ranking_options.score_threshold': expected a number between 0 and 1, got %g.", *st)
		}
	}
	return nil
}

// Limit returns max_num_results or its default.
func (r *VectorStoreSearchRequest) Limit() int {
	if r.MaxNumResults == nil {
		return DefaultSearchResults
	}
	return *r.MaxNumResults
}

// VectorStoreSearchResultsPage is the response of a vector store search.
type VectorStoreSearchResultsPage struct {
	Object      string                    `json:"object"`
	SearchQuery []string                  `json:"search_query"`
	Data        []VectorStoreSearchResult `json:"data"`
	HasMore     bool                      `json:"has_more"`
	NextPage    *string                   `json:"next_page"`
}

// VectorStoreSearchResult is one file's hit: its matching chunks.
type VectorStoreSearchResult struct {
	FileID     string                `json:"file_id"`
	Filename   string                `json:"filename"`
	Score      float64               `json:"score"`
	Attributes map[string]any        `json:"attributes"`
	Content    []SearchResultContent `json:"content"`
}

// SearchResultContent is one chunk of a search result (type "text").
type SearchResultContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// VectorStoreFileContentPage is the response of GET
// /v1/vector_stores/{id}/files/{file_id}/content.
type VectorStoreFileContentPage struct {
	Object   string            `json:"object"`
	Data     []FileContentPart `json:"data"`
	HasMore  bool              `json:"has_more"`
	NextPage *string           `json:"next_page"`
}

// FileContentPart is one part of a file's parsed content (type "text").
type FileContentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}
