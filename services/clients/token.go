package clients

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

// TokenTTL is the lifetime of a partner token.
const TokenTTL = 15 * time.Minute

// The lockout: MaxFailures failed authentications within FailureWindow of the first lock the
// client for LockDuration.
const (
	MaxFailures   = 10
	FailureWindow = time.Minute
	LockDuration  = time.Minute
)

// Audit actions of the token endpoint (resource api_client).
const (
	ActionTokenIssued  = "token_issued"
	ActionTokenRefused = "token_refused"
)

// Error codes of RFC 6749 §5.2.
const (
	ErrorInvalidRequest       = "invalid_request"
	ErrorInvalidClient        = "invalid_client"
	ErrorInvalidGrant         = "invalid_grant"
	ErrorUnauthorizedClient   = "unauthorized_client"
	ErrorUnsupportedGrantType = "unsupported_grant_type"
	ErrorInvalidScope         = "invalid_scope"
)

// GrantError is a refusal of the token endpoint, in the vocabulary of RFC 6749 §5.2.
type GrantError struct {
	Code        string
	Description string
}

func (e *GrantError) Error() string { return e.Code + ": " + e.Description }

// Refuse returns a refusal with code and description.
func Refuse(code, description string) *GrantError {
	return &GrantError{Code: code, Description: description}
}

// TokenRequest is an authenticated client credentials grant: the client's id and secret and,
// optionally, the scopes it asks for (nil: all those it was granted).
type TokenRequest struct {
	ClientID string
	Secret   string
	Scopes   []string
}

// Grant is an issued partner token.
type Grant struct {
	AccessToken string
	ExpiresIn   time.Duration
	Scopes      []string
}

// Issue authenticates the client and mints its partner token: role partner, the client's
// département and organisation, subject "client:<client_id>", the scopes asked for (all those
// granted by default). Refusals are *GrantError. Every refusal of a known client and every
// issue is audited; failed authentications are counted, and MaxFailures of them within
// FailureWindow lock the client for LockDuration, during which even the right secret is
// refused. The client's row is locked while it is checked, so concurrent attempts are counted
// one by one.
func (s *Service) Issue(ctx context.Context, req TokenRequest) (Grant, error) {
	var (
		grant   Grant
		refusal *GrantError
	)
	err := services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		var row models.APIClient
		err := models.Translate(tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("client_id = ?", req.ClientID).Take(&row).Error)
		if errors.Is(err, models.ErrNotFound) {
			_ = bcrypt.CompareHashAndPassword(s.dummy(), []byte(req.Secret)) // an unknown id takes as long to refuse
			refusal = Refuse(ErrorInvalidClient, "client authentication failed")
			return nil
		}
		if err != nil {
			return fmt.Errorf("read API client: %w", err)
		}
		ctx = auth.WithPrincipal(ctx, principalOf(row, nil))
		grant, refusal, err = s.authenticate(ctx, tx, &row, req)
		if err != nil {
			return err
		}
		action := ActionTokenIssued
		if refusal != nil {
			action = ActionTokenRefused
		}
		return audit.Record(ctx, tx, action, resource, strconv.FormatInt(row.ID, 10))
	})
	if err != nil {
		return Grant{}, err
	}
	if refusal != nil {
		return Grant{}, refusal
	}
	return grant, nil
}

// authenticate checks the locked row against req, records the outcome on the row and mints
// the token; a refusal is returned, not failed, so that the counters it updates commit.
func (s *Service) authenticate(ctx context.Context, tx *gorm.DB, row *models.APIClient, req TokenRequest) (Grant, *GrantError, error) {
	now := s.now().UTC()
	var refusal *GrantError
	switch {
	case !row.Active:
		refusal = Refuse(ErrorInvalidClient, "client authentication failed: the client is revoked")
	case row.LockedUntil != nil && now.Before(*row.LockedUntil):
		refusal = Refuse(ErrorInvalidClient, "client authentication failed: too many failed attempts, the client is locked until "+
			row.LockedUntil.UTC().Format(time.RFC3339))
	case bcrypt.CompareHashAndPassword([]byte(row.SecretHash), []byte(req.Secret)) != nil:
		refusal = Refuse(ErrorInvalidClient, "client authentication failed")
		countFailure(row, now)
		return Grant{}, refusal, saveCounters(tx, row)
	}
	if refusal != nil {
		return Grant{}, refusal, nil
	}
	row.FailedAttempts, row.FailuresSince, row.LockedUntil = 0, nil, nil
	if err := saveCounters(tx, row); err != nil {
		return Grant{}, nil, err
	}
	scopes, refusal := narrow(strings.Fields(row.Scopes), req.Scopes)
	if refusal != nil {
		return Grant{}, refusal, nil
	}
	token, err := s.tokens.Mint(principalOf(*row, scopes), TokenTTL)
	if err != nil {
		return Grant{}, nil, err
	}
	return Grant{AccessToken: token, ExpiresIn: TokenTTL, Scopes: scopes}, nil, nil
}

// countFailure adds a failed attempt at now: the count restarts when the first failure
// counted is FailureWindow old, and reaching MaxFailures locks the client.
func countFailure(row *models.APIClient, now time.Time) {
	if row.FailuresSince == nil || !now.Before(row.FailuresSince.Add(FailureWindow)) {
		row.FailedAttempts, row.FailuresSince = 0, &now
	}
	row.FailedAttempts++
	if row.FailedAttempts >= MaxFailures {
		until := now.Add(LockDuration)
		row.FailedAttempts, row.FailuresSince, row.LockedUntil = 0, nil, &until
	}
}

func saveCounters(tx *gorm.DB, row *models.APIClient) error {
	err := tx.Model(row).UpdateColumns(map[string]any{"failed_attempts": row.FailedAttempts,
		"failures_since": row.FailuresSince, "locked_until": row.LockedUntil}).Error
	if err != nil {
		return fmt.Errorf("record the authentication of API client %d: %w", row.ID, err)
	}
	return nil
}

// narrow checks the scopes asked for against those granted: nil asks for all of them.
func narrow(granted, asked []string) ([]string, *GrantError) {
	if asked == nil {
		return granted, nil
	}
	for _, s := range asked {
		if !slices.Contains(granted, s) {
			return nil, Refuse(ErrorInvalidScope, fmt.Sprintf("the scope %q is not granted to this client", s))
		}
	}
	if len(asked) == 0 {
		return nil, Refuse(ErrorInvalidScope, "the scope parameter names no scope")
	}
	return canonical(asked), nil
}

// principalOf is the partner a client's token names.
func principalOf(row models.APIClient, scopes []string) auth.Principal {
	return auth.Principal{Subject: SubjectPrefix + row.ClientID, Role: auth.RolePartner, Departement: row.Departement,
		Organisation: strconv.FormatInt(row.OrganisationID, 10), Scopes: scopes}
}
