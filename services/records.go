package services

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services/audit"
)

// Helpers every capability uses to write versioned, audited records.

// Insert creates row, whose generated id lands in *id, and audits the creation of resource in
// the same transaction. A unique violation is a ErrConflict about subject.
func Insert(ctx context.Context, tx *gorm.DB, row any, id *int64, resource, subject string) error {
	err := models.Translate(tx.Omit("CreatedAt", "UpdatedAt").Clauses(clause.Returning{}).Create(row).Error)
	if errors.Is(err, models.ErrDuplicate) {
		return fmt.Errorf("%s already exists: %w", subject, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", subject, err)
	}
	return audit.Record(ctx, tx, audit.ActionCreate, resource, strconv.FormatInt(*id, 10))
}

// SaveVersion writes columns of row (a gorm model whose primary key is set) with *version bumped
// and updated_at set to now(), and reads the row back (RETURNING): how a versioned record is
// updated. columns is completed with version and updated_at; subject names the record in
// errors. The caller audits the change.
func SaveVersion(tx *gorm.DB, row any, version *int, subject string, columns map[string]any) error {
	*version++
	columns["version"] = *version
	columns["updated_at"] = gorm.Expr("now()")
	if err := models.Translate(tx.Model(row).Clauses(clause.Returning{}).Updates(columns).Error); err != nil {
		return fmt.Errorf("update %s: %w", subject, err)
	}
	return nil
}

// AuditedPage cuts items, fetched by id with limit+1, to one keyset page and audits the read
// of every item kept: the trail of a list of nominative records.
func AuditedPage[T any](ctx context.Context, tx *gorm.DB, resource string, items []T, limit int, id func(T) int64) (Page[T], error) {
	key := func(item T) string { return strconv.FormatInt(id(item), 10) }
	page := PageOf(items, limit, func(item T) []string { return []string{key(item)} })
	ids := make([]string, len(page.Items))
	for i, item := range page.Items {
		ids[i] = key(item)
	}
	return page, audit.RecordMany(ctx, tx, audit.ActionRead, resource, ids)
}

// AfterID reads the single-id keyset position of page (0: from the start), recording a
// malformed cursor in v.
func AfterID(v *Validator, page PageRequest) int64 {
	if len(page.After) != 1 {
		v.Check(len(page.After) == 0, "cursor", "is not a cursor this API returned")
		return 0
	}
	after, err := strconv.ParseInt(page.After[0], 10, 64)
	v.Check(err == nil, "cursor", "is not a cursor this API returned")
	return after
}

// CheckVersion fails with ErrPreconditionFailed when subject is at current and the
// caller expected another version (AnyVersion matches any).
func CheckVersion(subject string, current, expected int) error {
	if expected != AnyVersion && current != expected {
		return fmt.Errorf("%s is at version %d, not %d: %w", subject, current, expected, ErrPreconditionFailed)
	}
	return nil
}

// CheckText records in v that a required text field is missing, blank, longer than max runes
// or holds control characters.
func CheckText(v *Validator, field string, s *string, max int) {
	switch {
	case s == nil:
		v.Check(false, field, "is required")
	case *s == "":
		v.Check(false, field, "must not be blank")
	case utf8.RuneCountInString(*s) > max:
		v.Check(false, field, fmt.Sprintf("must be at most %d characters", max))
	default:
		v.Check(!strings.ContainsFunc(*s, unicode.IsControl), field, "must not contain control characters")
	}
}

// Set copies *src into *dst when src is given: how a change with optional fields applies.
func Set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// Clearable applies an optional change to a nullable text column: nil keeps current, ""
// clears it, anything else replaces it.
func Clearable(current, change *string) *string {
	switch {
	case change == nil:
		return current
	case *change == "":
		return nil
	default:
		v := *change
		return &v
	}
}

// AuditedRead reads one nominative record with find, in one transaction with the audit row
// of its read (resource and id): how every service hands out a record that names a person.
func AuditedRead[T any](ctx context.Context, db *gorm.DB, resource string, id int64, find func(tx *gorm.DB) (T, error)) (T, error) {
	var out T
	err := WithTx(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
		var err error
		if out, err = find(tx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionRead, resource, strconv.FormatInt(id, 10))
	})
	return out, err
}
