package sqlite

import (
	"context"

	"github.com/assistd/assistd/internal/store"
)

// APIKeyCount counts the keys of every project.
func (s *Store) APIKeyCount(ctx context.Context) (int, error) {
	row, err := s.queryRow(ctx, `SELECT count(*) FROM api_keys`)
	if err != nil {
		return 0, err
	}
	var n int
	if err := row.Scan(&n); err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}

// APIKeyCreate inserts a key. A taken id or hash is store.ErrConflict; an
// unknown project is store.ErrNotFound.
func (s *Store) APIKeyCreate(ctx context.Context, p *store.APIKeyCreateParams) (*store.APIKey, error) {
	_, err := s.exec(ctx, `INSERT INTO api_keys (id, project_id, hash, created_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.ProjectID, p.Hash, p.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &store.APIKey{ID: p.ID, ProjectID: p.ProjectID, Hash: p.Hash, CreatedAt: p.CreatedAt}, nil
}

// APIKeyGetByHash resolves a key's hash; an unknown hash is
// store.ErrNotFound.
func (s *Store) APIKeyGetByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	row, err := s.queryRow(ctx, `SELECT id, project_id, hash, created_at FROM api_keys WHERE hash = ?`, hash)
	if err != nil {
		return nil, err
	}
	var k store.APIKey
	if err := row.Scan(&k.ID, &k.ProjectID, &k.Hash, &k.CreatedAt); err != nil {
		return nil, mapErr(err)
	}
	return &k, nil
}
