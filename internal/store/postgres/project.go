package postgres

import (
	"context"

	"github.com/assistd/assistd/internal/store"
)

// ProjectCreate inserts a project; a taken id or name is store.ErrConflict.
func (s *Store) ProjectCreate(ctx context.Context, p *store.ProjectCreateParams) (*store.Project, error) {
	if err := s.exec(ctx, `INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)`,
		p.ID, p.Name, p.CreatedAt); err != nil {
		return nil, err
	}
	return &store.Project{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}, nil
}

// ProjectGetByName returns store.ErrNotFound when no project has that name.
func (s *Store) ProjectGetByName(ctx context.Context, name string) (*store.Project, error) {
	var p store.Project
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at FROM projects WHERE name = $1`, name).
		Scan(&p.ID, &p.Name, &p.CreatedAt)
	if err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}
