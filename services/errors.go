// Package services holds what every capability shares: the error vocabulary the API maps to
// HTTP, the transaction helper and keyset pagination. Each capability lives in a sub-package.
package services

import (
	"errors"
	"strconv"
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

// DuplicateError says that what a create describes already exists, and which record it is.
type DuplicateError struct {
	Resource   string
	ExistingID int64
	Reason     string // what matched, e.g. "same payer and allocataire number"
}

func (e *DuplicateError) Error() string {
	return e.Resource + " already exists as id " + strconv.FormatInt(e.ExistingID, 10) + " (" + e.Reason + ")"
}

// Is makes errors.Is(err, ErrConflict) true for a *DuplicateError.
func (e *DuplicateError) Is(target error) bool { return target == ErrConflict }

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

// MergeValidation joins the field errors of two validations, keeping the first message given
// for a field. Either may be nil; a non-validation error is returned as is.
func MergeValidation(first, second error) error {
	var a, b *ValidationError
	if !errors.As(first, &a) {
		if first != nil {
			return first
		}
		return second
	}
	if !errors.As(second, &b) {
		return first
	}
	seen := map[string]bool{}
	merged := &ValidationError{}
	for _, f := range append(append([]FieldError{}, a.Fields...), b.Fields...) {
		if !seen[f.Field] {
			seen[f.Field] = true
			merged.Fields = append(merged.Fields, f)
		}
	}
	return merged
}
