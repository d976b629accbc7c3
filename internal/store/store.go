// Package store defines the persistence contract every backend implements
// (embedded SQLite now, PostgreSQL later) and the sentinel errors callers
// test with errors.Is. Every object method is scoped by project: there is no
// way to read an object by id alone, so one tenant can never reach another's.
//
// Method names are Entity+Verb (River's convention) and sorted by entity.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/assistd/assistd/internal/schema"
)

// ErrNotFound means the object does not exist in the caller's project (a
// foreign object is indistinguishable from a missing one).
var ErrNotFound = errors.New("store: not found")

// ErrConflict means a uniqueness rule refused the write, or a RunSave's
// ExpectStatus no longer held (someone else moved the run).
var ErrConflict = errors.New("store: conflict")

// ErrActiveRun means the thread has an active run (queued, in_progress,
// requires_action or cancelling), which refuses new runs and new messages.
var ErrActiveRun = errors.New("store: thread has an active run")

// ErrLeaseLost means a RunSave or RunLeaseRenew named an owner that no
// longer holds the run's lease (another executor took it over).
var ErrLeaseLost = errors.New("store: run lease lost")

// Store is the persistence contract. Implementations must be safe for
// concurrent use and must make every multi-row write atomic.
type Store interface {
	// VectorStores is the vector store part of the contract (vectorstore.go).
	VectorStores

	// Close releases the database.
	Close() error
	// Migrate applies pending migrations; it is idempotent.
	Migrate(ctx context.Context) error
	// SchemaUpToDate reports whether every migration has been applied.
	SchemaUpToDate(ctx context.Context) (bool, error)

	APIKeyCount(ctx context.Context) (int, error)
	APIKeyCreate(ctx context.Context, p *APIKeyCreateParams) (*APIKey, error)
	// APIKeyGetByHash resolves a key's SHA-256 hash to the key and project.
	APIKeyGetByHash(ctx context.Context, hash string) (*APIKey, error)

	AssistantCreate(ctx context.Context, projectID string, a *schema.Assistant) error
	AssistantDelete(ctx context.Context, projectID, id string) error
	AssistantGet(ctx context.Context, projectID, id string) (*schema.Assistant, error)
	AssistantList(ctx context.Context, projectID string, p ListParams) (*Page[schema.Assistant], error)
	// AssistantUpdate reads the assistant, calls patch on it and writes the
	// result back in one transaction; patch's error aborts the update.
	AssistantUpdate(ctx context.Context, projectID, id string, patch func(*schema.Assistant) error) (*schema.Assistant, error)

	FileCreate(ctx context.Context, projectID string, f *schema.File) error
	FileDelete(ctx context.Context, projectID, id string) error
	FileGet(ctx context.Context, projectID, id string) (*schema.File, error)
	FileList(ctx context.Context, projectID string, p FileListParams) (*Page[schema.File], error)
	// FilesExist returns the subset of ids that name live files of the project.
	FilesExist(ctx context.Context, projectID string, ids []string) (map[string]bool, error)

	// MessageCreate returns ErrNotFound when the thread does not exist and
	// ErrActiveRun when the thread has an active run.
	MessageCreate(ctx context.Context, projectID string, m *schema.Message) error
	MessageDelete(ctx context.Context, projectID, threadID, id string) error
	MessageGet(ctx context.Context, projectID, threadID, id string) (*schema.Message, error)
	// MessageList returns ErrNotFound when the thread does not exist.
	MessageList(ctx context.Context, projectID, threadID string, p MessageListParams) (*Page[schema.Message], error)
	MessageUpdate(ctx context.Context, projectID, threadID, id string, patch func(*schema.Message) error) (*schema.Message, error)

	ProjectCreate(ctx context.Context, p *ProjectCreateParams) (*Project, error)
	// ProjectGetByName returns ErrNotFound when no project has that name.
	ProjectGetByName(ctx context.Context, name string) (*Project, error)

	// RunClaim leases one claimable run to p.Owner until p.LeaseUntil and
	// returns it; ErrNotFound when there is none. A run is claimable when
	// its status is queued, in_progress or cancelling and it has no lease or
	// its lease lapsed before p.Now (its executor died). With p.RunID set
	// only that run is considered. Each claim increments Attempts.
	RunClaim(ctx context.Context, p RunClaimParams) (*ClaimedRun, error)
	// RunCreate inserts messages (the run's additional_messages) and the
	// run atomically. ErrNotFound when the thread does not exist,
	// ErrActiveRun when it already has an active run. With a lease the
	// run is created claimed (its first claim), so that the replica
	// creating it executes it without a second write.
	RunCreate(ctx context.Context, projectID string, run *schema.Run, messages []*schema.Message, lease *Lease) error
	// RunCreateWithThread inserts a new thread, its messages and its first
	// run atomically (POST /v1/threads/runs); lease as in RunCreate.
	RunCreateWithThread(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message, run *schema.Run, lease *Lease) error
	// RunsDue returns up to limit runs, across projects, that are
	// requires_action or queued with expires_at before now (to be expired).
	RunsDue(ctx context.Context, now int64, limit int) ([]ClaimedRun, error)
	// RunsClaimable returns up to limit runs, across projects, that RunClaim
	// could take at now (queued, in_progress or cancelling with no live
	// lease), oldest first; Attempts is the claims so far. The job queue's
	// reconciliation re-queues them.
	RunsClaimable(ctx context.Context, now time.Time, limit int) ([]ClaimedRun, error)
	RunGet(ctx context.Context, projectID, threadID, id string) (*schema.Run, error)
	// RunLeaseRenew extends owner's lease; ErrLeaseLost if owner lost it.
	RunLeaseRenew(ctx context.Context, runID, owner string, until time.Time) error
	// RunList returns ErrNotFound when the thread does not exist.
	RunList(ctx context.Context, projectID, threadID string, p ListParams) (*Page[schema.Run], error)
	// RunSave writes a run transition atomically: the whole run, and the
	// steps and messages it upserts. See RunSaveParams for its guards.
	RunSave(ctx context.Context, projectID string, p *RunSaveParams) error
	RunStepGet(ctx context.Context, projectID, threadID, runID, id string) (*schema.RunStep, error)
	// RunStepList returns ErrNotFound when the run does not exist.
	RunStepList(ctx context.Context, projectID, threadID, runID string, p ListParams) (*Page[schema.RunStep], error)

	// ThreadCreate inserts the thread and its initial messages atomically.
	ThreadCreate(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message) error
	// ThreadDelete removes the thread and everything in it.
	ThreadDelete(ctx context.Context, projectID, id string) error
	ThreadGet(ctx context.Context, projectID, id string) (*schema.Thread, error)
	ThreadUpdate(ctx context.Context, projectID, id string, patch func(*schema.Thread) error) (*schema.Thread, error)
}

// Order values for lists.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// ListParams selects one page of a list. Objects are ordered by creation
// (insertion order, which ties created_at seconds deterministically).
type ListParams struct {
	// Limit is the page size (the API layer validates its range).
	Limit int
	// Order is OrderAsc or OrderDesc.
	Order string
	// After and Before are object ids; the page holds objects strictly after
	// (or before) them in Order. An unknown cursor yields an empty page.
	After  string
	Before string
}

// MessageListParams narrows a message list.
type MessageListParams struct {
	ListParams
	// RunID, when set, keeps only messages created by that run.
	RunID string
}

// FileListParams narrows a file list.
type FileListParams struct {
	ListParams
	// Purpose, when set, keeps only files with that purpose.
	Purpose string
	// Now excludes files expired by then; zero means time.Now().
	Now time.Time
}

// RunClaimParams selects and leases a run for an executor.
type RunClaimParams struct {
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
	// RunID, when set, claims only that run (a streamed request executes
	// its own run in the replica that received it).
	RunID string
}

// Lease is an executor's hold on a run.
type Lease struct {
	Owner string
	Until time.Time
}

// ClaimedRun is a run with the project it belongs to.
type ClaimedRun struct {
	ProjectID string
	Run       *schema.Run
	// Attempts counts claims of this run since it last rested
	// (requires_action or terminal releases the lease and restarts the
	// count), this one included: more than one means an earlier executor
	// died while holding it.
	Attempts int
}

// RunSaveParams is one atomic run transition.
type RunSaveParams struct {
	// Run is written whole. When its status is neither queued, in_progress
	// nor cancelling, the lease is released and the claim count restarts.
	Run *schema.Run
	// ExpectStatus, when set, must equal the stored status, else
	// ErrConflict and nothing is written (e.g. the run was cancelled).
	ExpectStatus string
	// Owner, when set, must hold the run's lease, else ErrLeaseLost.
	Owner string
	// KeepMetadata keeps the stored run's metadata instead of Run's, so an
	// executor's writes never undo a metadata update made meanwhile by the
	// API (possibly on another replica).
	KeepMetadata bool
	// RunUnchanged says Run is as the caller's last save left it (a save
	// that only adds steps or messages): the guards above are checked and
	// the run is not rewritten.
	RunUnchanged bool
	// Steps and Messages are inserted or replaced (by id), keeping their
	// original list position when replaced.
	Steps    []*schema.RunStep
	Messages []*schema.Message
}

// Page is one page of a list.
type Page[T any] struct {
	Data    []T
	HasMore bool
}

// All reads every page of a list, oldest first: list is called with a
// ListParams for each page and id names an object for the next cursor.
func All[T any](list func(ListParams) (*Page[T], error), id func(*T) string) ([]*T, error) {
	var out []*T
	p := ListParams{Limit: 100, Order: OrderAsc}
	for {
		page, err := list(p)
		if err != nil {
			return nil, err
		}
		for i := range page.Data {
			out = append(out, &page.Data[i])
		}
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
		p.After = id(&page.Data[len(page.Data)-1])
	}
}

// Project is a tenant: every object belongs to one.
type Project struct {
	ID        string
	Name      string
	CreatedAt int64
}

// ProjectCreateParams creates a project.
type ProjectCreateParams struct {
	ID        string
	Name      string
	CreatedAt int64
}

// APIKey is a bearer key; only its SHA-256 hash is stored.
type APIKey struct {
	ID        string
	ProjectID string
	Hash      string
	CreatedAt int64
}

// APIKeyCreateParams creates a key for a project.
type APIKeyCreateParams struct {
	ID        string
	ProjectID string
	Hash      string
	CreatedAt int64
}
