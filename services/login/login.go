// Package login turns a single-use login link into a browser session: a link minted by an
// administrator (parcours token --link) works once, within its lifetime.
package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

// SessionTTL is how long a browser session lasts.
const SessionTTL = 8 * time.Hour

// LinkTTL is how long a login link stays usable.
const LinkTTL = 10 * time.Minute

// ErrLinkUsed is returned for a link that was already used.
var ErrLinkUsed = errors.New("this login link was already used")

// Service redeems login links.
type Service struct {
	db     *gorm.DB
	tokens *auth.Tokens
}

// New returns a login service.
func New(db *gorm.DB, tokens *auth.Tokens) *Service { return &Service{db: db, tokens: tokens} }

// Redeem checks the login link token raw, records its use (a second use fails with
// ErrLinkUsed wrapped in auth.ErrInvalidToken), audits the sign-in and returns a session
// token for the same principal.
func (s *Service) Redeem(ctx context.Context, raw string) (string, auth.Principal, error) {
	p, jti, expires, err := s.tokens.VerifyLogin(raw)
	if err != nil {
		return "", p, err
	}
	ctx = auth.WithPrincipal(ctx, p)
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO login_links_used (jti, departement, subject, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (jti) DO NOTHING`, jti, p.Departement, p.Subject, expires)
		if res.Error != nil {
			return fmt.Errorf("record the login link: %w", models.Translate(res.Error))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: %w", auth.ErrInvalidToken, ErrLinkUsed)
		}
		return audit.Record(ctx, tx, "login", "session", p.Subject)
	})
	if err != nil {
		return "", p, err
	}
	session, err := s.tokens.MintSession(p, SessionTTL)
	return session, p, err
}
