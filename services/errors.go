// Package services holds what every capability shares: the error vocabulary the API maps to
// HTTP, the transaction helper and keyset pagination. Each capability lives in a sub-package.
package services

import (
	"errors"
	"strings"
)

// Sentinel errors. Services wrap them with context (fmt.Errorf("…: %w", ErrNotFound)); the API
// maps them to HTTP statuses in one place and shows the wrapped message as the problem detail,
// so those messages must never carry personal data.
var (
	ErrNotFound             = errors.New("not found")
	ErrConflict             = errors.New("conflict")
	ErrPreconditionFailed   = errors.New("precondition failed")
	ErrPreconditionRequired = errors.New("precondition required")
	ErrForbidden            = errors.New("forbidden")
	ErrValidation           = errors.New("validation failed")
)

// FieldError is one broken rule on one input field.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every broken rule of an input, not just the first.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrValidation) true for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Validator collects field errors; Err returns nil when none was added.
type Validator struct {
	fields []FieldError
}

// Check records message against field when ok is false.
func (v *Validator) Check(ok bool, field, message string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: message})
	}
}

// Err returns the collected errors as a *ValidationError, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}
