package models

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Storage errors: what the database said, without PostgreSQL's vocabulary.
var (
	// ErrNotFound is returned when a row does not exist.
	ErrNotFound = errors.New("row not found")
	// ErrDuplicate is returned when a unique constraint is violated (SQLSTATE 23505).
	ErrDuplicate = errors.New("duplicate key")
	// ErrForeignKey is returned when a foreign key is violated (SQLSTATE 23503).
	ErrForeignKey = errors.New("foreign key violation")
)

// StorageError keeps the constraint a translated error came from.
type StorageError struct {
	Kind       error
	Constraint string
	Err        error
}

func (e *StorageError) Error() string {
	if e.Constraint != "" {
		return e.Kind.Error() + " (" + e.Constraint + "): " + e.Err.Error()
	}
	return e.Kind.Error() + ": " + e.Err.Error()
}

// Is lets errors.Is match the storage error's kind.
func (e *StorageError) Is(target error) bool { return target == e.Kind }

func (e *StorageError) Unwrap() error { return e.Err }

// Translate maps PostgreSQL and gorm errors to the storage errors above; others pass unchanged.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &StorageError{Kind: ErrNotFound, Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &StorageError{Kind: ErrDuplicate, Constraint: pgErr.ConstraintName, Err: err}
		case "23503":
			return &StorageError{Kind: ErrForeignKey, Constraint: pgErr.ConstraintName, Err: err}
		}
	}
	return err
}
