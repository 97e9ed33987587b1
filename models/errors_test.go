package models_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"gorm.io/gorm"

	"parcours/models"
)

func TestTranslate(t *testing.T) {
	other := errors.New("connection reset")
	tests := []struct {
		name       string
		in         error
		want       error
		constraint string
	}{
		{"nil", nil, nil, ""},
		{"record not found", fmt.Errorf("take: %w", gorm.ErrRecordNotFound), models.ErrNotFound, ""},
		{"unique violation", &pgconn.PgError{Code: "23505", ConstraintName: "territories_code_unique"}, models.ErrDuplicate, "territories_code_unique"},
		{"foreign key violation", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23503", ConstraintName: "x_fk"}), models.ErrForeignKey, "x_fk"},
		{"other postgres error", &pgconn.PgError{Code: "22001"}, nil, ""},
		{"other error", other, other, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := models.Translate(tt.in)
			if tt.in == nil {
				assert.NoError(t, got)
				return
			}
			if tt.want == nil {
				assert.Same(t, tt.in, got, "passed through unchanged")
				return
			}
			assert.ErrorIs(t, got, tt.want)
			assert.ErrorIs(t, got, tt.in, "the original error stays reachable")
			var se *models.StorageError
			if errors.As(got, &se) {
				assert.Equal(t, tt.constraint, se.Constraint)
			}
		})
	}
}
