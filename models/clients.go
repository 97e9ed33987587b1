package models

import "time"

// APIClient is a partner organisation's machine-to-machine client (OAuth2 client
// credentials). SecretHash is a bcrypt hash; the secret itself is never stored.
type APIClient struct {
	ID              int64 `gorm:"primaryKey"`
	Departement     string
	ClientID        string
	OrganisationID  int64
	Name            string
	Scopes          string // space-separated, as OAuth writes them
	Active          bool
	SecretHash      string
	SecretRotatedAt time.Time
	FailedAttempts  int
	FailuresSince   *time.Time
	LockedUntil     *time.Time
	CreatedBy       string
	RevokedAt       *time.Time
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName is the SQL table of APIClient.
func (APIClient) TableName() string { return "api_clients" }

// IdempotencyKey is the first answer to a POST sent with an Idempotency-Key header, kept for
// the caller (département and subject) until ExpiresAt.
type IdempotencyKey struct {
	Departement string `gorm:"primaryKey"`
	Subject     string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash []byte
	Status      int
	Headers     string // a JSON object: header name → values
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// TableName is the SQL table of IdempotencyKey.
func (IdempotencyKey) TableName() string { return "idempotency_keys" }
