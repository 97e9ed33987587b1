package services_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"parcours/services"
)

func TestValidatorCollectsEveryField(t *testing.T) {
	var v services.Validator
	assert.NoError(t, v.Err())
	v.Check(true, "ok", "never shown")
	v.Check(false, "code", "is required")
	v.Check(false, "name", "is too long")
	err := v.Err()
	assert.ErrorIs(t, err, services.ErrValidation)
	var verr *services.ValidationError
	assert.True(t, errors.As(err, &verr))
	assert.Equal(t, []services.FieldError{{Field: "code", Message: "is required"}, {Field: "name", Message: "is too long"}}, verr.Fields)
	assert.Equal(t, "validation failed: code: is required; name: is too long", err.Error())
}

func TestPageOf(t *testing.T) {
	key := func(s string) []string { return []string{s} }
	tests := []struct {
		name  string
		rows  []string
		limit int
		items []string
		next  []string
	}{
		{"empty", nil, 2, nil, nil},
		{"fewer than the limit", []string{"a"}, 2, []string{"a"}, nil},
		{"exactly the limit", []string{"a", "b"}, 2, []string{"a", "b"}, nil},
		{"one more than the limit", []string{"a", "b", "c"}, 2, []string{"a", "b"}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := services.PageOf(tt.rows, tt.limit, key)
			assert.Equal(t, tt.items, page.Items)
			assert.Equal(t, tt.next, page.Next)
		})
	}
}
