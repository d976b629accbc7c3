// Package apikey makes, hashes and provisions the bearer keys that map a
// request to its project. Only hashes are stored.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// Prefix starts every key, so leaked keys are recognisable.
const Prefix = "sk-assistd-"

// Hash returns the hex SHA-256 of a key. Keys carry ~190 bits of entropy, so a
// fast hash is enough: there is nothing to brute-force.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Generate returns a new random key.
func Generate() string {
	return Prefix + randomToken()
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Create makes a key for the named project, creating the project when it does
// not exist, and returns the plaintext key (the only time it is known).
func Create(ctx context.Context, s store.Store, projectName string, now time.Time) (string, error) {
	if projectName == "" {
		return "", errors.New("apikey: empty project name")
	}
	p, err := s.ProjectGetByName(ctx, projectName)
	if errors.Is(err, store.ErrNotFound) {
		p, err = s.ProjectCreate(ctx, &store.ProjectCreateParams{ID: schema.NewID("proj_"), Name: projectName, CreatedAt: now.Unix()})
		if errors.Is(err, store.ErrConflict) { // created concurrently
			p, err = s.ProjectGetByName(ctx, projectName)
		}
	}
	if err != nil {
		return "", fmt.Errorf("apikey: project %q: %w", projectName, err)
	}
	key := Generate()
	if _, err := s.APIKeyCreate(ctx, &store.APIKeyCreateParams{ID: schema.NewID("key_"), ProjectID: p.ID, Hash: Hash(key), CreatedAt: now.Unix()}); err != nil {
		return "", fmt.Errorf("apikey: create: %w", err)
	}
	return key, nil
}
