// Package clients manages the partner API clients (an organisation's machine-to-machine
// client, e.g. a Pôle emploi agency's system) and issues their short-lived partner tokens by
// OAuth2 client credentials (RFC 6749 §4.4): secrets are shown once and stored as bcrypt
// hashes, tokens carry the scopes the client was granted, and repeated failed
// authentications lock the client for a while.
package clients

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/organisations"
)

// The scopes a partner client may be granted: each names what a partner does.
const (
	// ScopeBeneficiariesRead reads the beneficiaries, convocations, orientations, timelines and
	// enrolments the partner may see (never a NIR).
	ScopeBeneficiariesRead = "beneficiaries:read"
	// ScopeAttendanceWrite records attendance at the sessions the partner hosts.
	ScopeAttendanceWrite = "attendance:write"
	// ScopeOrientationsWrite records orientation decisions after the partner's sessions.
	ScopeOrientationsWrite = "orientations:write"
	// ScopeEnrolmentsWrite records first appointments and exits of the partner's enrolments.
	ScopeEnrolmentsWrite = "enrolments:write"
	// ScopeContractsWrite records PPAE contracts on the partner's enrolments.
	ScopeContractsWrite = "contracts:write"
	// ScopeEventsRead follows the change feed of the partner's organisation.
	ScopeEventsRead = "events:read"
)

// Scopes is the closed set of scopes, in their canonical order.
var Scopes = []string{ScopeBeneficiariesRead, ScopeAttendanceWrite, ScopeOrientationsWrite,
	ScopeEnrolmentsWrite, ScopeContractsWrite, ScopeEventsRead}

const (
	resource     = "api_client"
	maxNameRunes = 200
	// SubjectPrefix starts the subject of every token issued to a client: "client:<client_id>".
	SubjectPrefix = "client:"
	// secretBytes is the entropy of a client secret (32 random bytes, base64url: 43 characters).
	secretBytes = 32
)

// Client is an API client as the service hands it out; never its secret.
type Client struct {
	ID              int64
	ClientID        string
	OrganisationID  int64
	Name            string
	Scopes          []string
	Active          bool
	CreatedBy       string
	SecretRotatedAt time.Time
	LockedUntil     *time.Time
	RevokedAt       *time.Time
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Credentials is a client with its secret in clear: the answer of a create or a rotation,
// the only time the secret is ever shown.
type Credentials struct {
	Client
	Secret string
}

// Input creates a client.
type Input struct {
	Name           *string
	OrganisationID *int64
	Scopes         []string // nil: not given
}

// Validate checks the input's own rules without the database.
func (in Input) Validate(bool) error {
	var v services.Validator
	in.check(&v)
	return v.Err()
}

func (in *Input) check(v *services.Validator) {
	if in.Name != nil {
		trimmed := strings.TrimSpace(*in.Name)
		in.Name = &trimmed
	}
	services.CheckText(v, "name", in.Name, maxNameRunes)
	v.Check(in.OrganisationID != nil && *in.OrganisationID > 0, "organisation_id", "is required: the id of an organisation of the département")
	v.Check(len(in.Scopes) > 0, "scopes", "must list at least one of "+strings.Join(Scopes, ", "))
	for _, s := range in.Scopes {
		v.Check(slices.Contains(Scopes, s), "scopes", fmt.Sprintf("%q is not a scope; use %s", s, strings.Join(Scopes, ", ")))
	}
}

// Service manages API clients and issues their tokens.
type Service struct {
	db     *gorm.DB
	tokens *auth.Tokens
	now    func() time.Time
	cost   int
	dummy  func() []byte // a hash at cost, to spend a comparison on an unknown client
}

// New returns a client service over db that mints partner tokens with tokens.
func New(db *gorm.DB, tokens *auth.Tokens) *Service {
	return (&Service{db: db, tokens: tokens, now: time.Now}).WithHashCost(bcrypt.DefaultCost)
}

// WithHashCost returns the service hashing new secrets at bcrypt cost (bcrypt.DefaultCost
// unless changed; tests lower it, as a hash's cost is what makes it slow to guess and to
// check). Existing hashes keep the cost they were made with.
func (s *Service) WithHashCost(cost int) *Service {
	if cost <= 0 {
		return s
	}
	c := *s
	c.cost = min(max(cost, bcrypt.MinCost), bcrypt.MaxCost)
	c.dummy = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("parcours"), c.cost)
		return h
	})
	return &c
}

// WithClock returns the service reading the time from now (tests move it to see a lock end).
func (s *Service) WithClock(now func() time.Time) *Service {
	if now == nil {
		return s
	}
	c := *s
	c.now = now
	return &c
}

// Create adds a client of an organisation of the administrator's département and returns it
// with its secret, shown this once.
func (s *Service) Create(ctx context.Context, in Input) (Credentials, error) {
	p, err := admin(ctx)
	if err != nil {
		return Credentials{}, err
	}
	var v services.Validator
	in.check(&v)
	if err := v.Err(); err != nil {
		return Credentials{}, err
	}
	secret, hash, err := s.newSecret()
	if err != nil {
		return Credentials{}, err
	}
	row := models.APIClient{Departement: p.Departement, ClientID: strings.ToLower(rand.Text()), OrganisationID: *in.OrganisationID,
		Name: *in.Name, Scopes: strings.Join(canonical(in.Scopes), " "), Active: true, SecretHash: hash,
		SecretRotatedAt: s.now().UTC(), CreatedBy: p.Subject, Version: 1}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if _, err := organisations.Find(tx, p.Departement, row.OrganisationID); errors.Is(err, services.ErrNotFound) {
			return &services.ValidationError{Fields: []services.FieldError{{Field: "organisation_id", Message: "is not an organisation of the département"}}}
		} else if err != nil {
			return err
		}
		return services.Insert(ctx, tx, &row, &row.ID, resource, fmt.Sprintf("an API client named %q", row.Name))
	})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Client: fromRow(row), Secret: secret}, nil
}

// List returns the clients of the administrator's département by id, one page at a time.
func (s *Service) List(ctx context.Context, page services.PageRequest) (services.Page[Client], error) {
	p, err := admin(ctx)
	if err != nil {
		return services.Page[Client]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, page)
	if err := v.Err(); err != nil {
		return services.Page[Client]{}, err
	}
	var rows []models.APIClient
	if err := services.Conn(ctx, s.db).Where("departement = ? AND id > ?", p.Departement, after).
		Order("id").Limit(page.Limit + 1).Find(&rows).Error; err != nil {
		return services.Page[Client]{}, fmt.Errorf("list API clients: %w", err)
	}
	out := make([]Client, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return services.PageOf(out, page.Limit, func(c Client) []string { return []string{strconv.FormatInt(c.ID, 10)} }), nil
}

// Get returns client id of the administrator's département.
func (s *Service) Get(ctx context.Context, id int64) (Client, error) {
	p, err := admin(ctx)
	if err != nil {
		return Client{}, err
	}
	row, err := find(services.Conn(ctx, s.db), p.Departement, id, false)
	return fromRow(row), err
}

// Rotate gives client id a new secret, returned this once; the old one stops working at
// once. A revoked client cannot be rotated (409).
func (s *Service) Rotate(ctx context.Context, id int64) (Credentials, error) {
	secret, hash, err := s.newSecret()
	if err != nil {
		return Credentials{}, err
	}
	row, err := s.change(ctx, id, "rotate", func(row *models.APIClient) error {
		if !row.Active {
			return fmt.Errorf("API client %d is revoked: create another one: %w", id, services.ErrConflict)
		}
		row.SecretHash, row.SecretRotatedAt = hash, s.now().UTC()
		row.FailedAttempts, row.FailuresSince, row.LockedUntil = 0, nil, nil
		return nil
	})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Client: fromRow(row), Secret: secret}, nil
}

// Revoke deactivates client id for good: it gets no more tokens, and the tokens it holds are
// refused from then on. Revoking a revoked client changes nothing.
func (s *Service) Revoke(ctx context.Context, id int64) (Client, error) {
	row, err := s.change(ctx, id, "revoke", func(row *models.APIClient) error {
		if row.Active {
			now := s.now().UTC()
			row.Active, row.RevokedAt = false, &now
		}
		return nil
	})
	return fromRow(row), err
}

// change applies edit to client id under a row lock, bumps its version and audits action.
func (s *Service) change(ctx context.Context, id int64, action string, edit func(*models.APIClient) error) (models.APIClient, error) {
	p, err := admin(ctx)
	if err != nil {
		return models.APIClient{}, err
	}
	var row models.APIClient
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if row, err = find(tx, p.Departement, id, true); err != nil {
			return err
		}
		if err := edit(&row); err != nil {
			return err
		}
		row.Version++
		row.UpdatedAt = time.Now().UTC()
		if err := tx.Select("*").Omit("ID", "CreatedAt").Save(&row).Error; err != nil {
			return fmt.Errorf("%s API client %d: %w", action, id, err)
		}
		return audit.Record(ctx, tx, action, resource, strconv.FormatInt(id, 10))
	})
	return row, err
}

// Active reports whether the client a token subject names ("client:<client_id>") is still
// active in departement; a subject of another form names no client and is not checked.
func (s *Service) Active(ctx context.Context, departement, subject string) (bool, error) {
	clientID, ok := strings.CutPrefix(subject, SubjectPrefix)
	if !ok {
		return true, nil
	}
	var active []bool
	if err := services.Conn(ctx, s.db).Model(&models.APIClient{}).Where("departement = ? AND client_id = ?", departement, clientID).
		Pluck("active", &active).Error; err != nil {
		return false, fmt.Errorf("read API client: %w", err)
	}
	return len(active) == 1 && active[0], nil
}

// newSecret draws a secret and its bcrypt hash.
func (s *Service) newSecret() (secret, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("draw a client secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	h, err := bcrypt.GenerateFromPassword([]byte(secret), s.cost)
	if err != nil {
		return "", "", fmt.Errorf("hash the client secret: %w", err)
	}
	return secret, string(h), nil
}

// find reads client id of departement, locked for update when lock is set.
func find(q *gorm.DB, departement string, id int64, lock bool) (models.APIClient, error) {
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var row models.APIClient
	err := models.Translate(q.Where("departement = ? AND id = ?", departement, id).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("API client %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read API client %d: %w", id, err)
	}
	return row, nil
}

// canonical returns scopes without repeats, in the order of Scopes.
func canonical(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range Scopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

func fromRow(r models.APIClient) Client {
	return Client{ID: r.ID, ClientID: r.ClientID, OrganisationID: r.OrganisationID, Name: r.Name, Scopes: strings.Fields(r.Scopes),
		Active: r.Active, CreatedBy: r.CreatedBy, SecretRotatedAt: r.SecretRotatedAt, LockedUntil: r.LockedUntil,
		RevokedAt: r.RevokedAt, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// admin returns the caller if it is an administrator: only they manage API clients.
func admin(ctx context.Context) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && p.Role != auth.RoleAdmin {
		err = fmt.Errorf("only an administrator manages API clients: %w", services.ErrForbidden)
	}
	return p, err
}
