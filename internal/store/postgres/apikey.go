package postgres

import (
	"context"

	"github.com/assistd/assistd/internal/store"
)

// APIKeyCount counts the keys of every project.
func (s *Store) APIKeyCount(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}

// APIKeyCreate inserts a key. A taken id or hash is store.ErrConflict; an
// unknown project is store.ErrNotFound.
func (s *Store) APIKeyCreate(ctx context.Context, p *store.APIKeyCreateParams) (*store.APIKey, error) {
	if err := s.exec(ctx, `INSERT INTO api_keys (id, project_id, hash, created_at) VALUES ($1, $2, $3, $4)`,
		p.ID, p.ProjectID, p.Hash, p.CreatedAt); err != nil {
		return nil, err
	}
	return &store.APIKey{ID: p.ID, ProjectID: p.ProjectID, Hash: p.Hash, CreatedAt: p.CreatedAt}, nil
}

// APIKeyGetByHash resolves a key's hash; an unknown hash is
// store.ErrNotFound.
func (s *Store) APIKeyGetByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	var k store.APIKey
	err := s.pool.QueryRow(ctx, `SELECT id, project_id, hash, created_at FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.ProjectID, &k.Hash, &k.CreatedAt)
	if err != nil {
		return nil, mapErr(err)
	}
	return &k, nil
}
