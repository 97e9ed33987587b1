package territories_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/servicetest"
	"parcours/services/territories"
)

func countRows(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table(table).Count(&n).Error)
	return n
}

func TestCreateValidatesEveryField(t *testing.T) {
	db := servicetest.NewDB(t)
	svc := territories.New(db)
	ctx := servicetest.As(servicetest.Admin47)

	tests := []struct {
		name   string
		in     territories.NewTerritory
		fields []string
	}{
		{"both missing", territories.NewTerritory{}, []string{"code", "name"}},
		{"lower-case code", territories.NewTerritory{Code: "47-agen1", Name: "Agen"}, []string{"code"}},
		{"other département prefix", territories.NewTerritory{Code: "33-BX", Name: "Bordeaux"}, []string{"code"}},
		{"code too long", territories.NewTerritory{Code: "47-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", Name: "x"}, []string{"code"}},
		{"blank name", territories.NewTerritory{Code: "47-X", Name: "   "}, []string{"name"}},
		{"control character", territories.NewTerritory{Code: "47-X", Name: "a\nb"}, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Create(ctx, tt.in)
			var verr *services.ValidationError
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, f := range verr.Fields {
				got = append(got, f.Field)
			}
			assert.Equal(t, tt.fields, got)
		})
	}
	assert.Zero(t, countRows(t, db, "territories"))
	assert.Zero(t, countRows(t, db, "audit_events"))
}

func TestCreateGetAndAudit(t *testing.T) {
	db := servicetest.NewDB(t)
	svc := territories.New(db)
	ctx := audit.WithRequestID(servicetest.As(servicetest.Admin47), "req-1")

	created, err := svc.Create(ctx, territories.NewTerritory{Code: " 47-NERAC ", Name: " Nérac "})
	require.NoError(t, err)
	assert.Equal(t, "47-NERAC", created.Code)
	assert.Equal(t, "Nérac", created.Name)
	assert.Equal(t, "47", created.Departement)
	assert.Equal(t, 1, created.Version)
	assert.False(t, created.CreatedAt.IsZero())

	got, err := svc.Get(ctx, "47-NERAC")
	require.NoError(t, err)
	assert.Equal(t, created.Name, got.Name)

	var events []models.AuditEvent
	require.NoError(t, db.Find(&events).Error)
	require.Len(t, events, 1)
	assert.Equal(t, models.AuditEvent{
		ID: events[0].ID, Departement: "47", OccurredAt: events[0].OccurredAt, Actor: "test-admin", Role: "admin",
		Action: "create", Resource: "territory", ResourceID: "47-NERAC", RequestID: "req-1",
	}, events[0])

	_, err = svc.Create(ctx, territories.NewTerritory{Code: "47-NERAC", Name: "Again"})
	assert.ErrorIs(t, err, services.ErrConflict)
	assert.Equal(t, int64(1), countRows(t, db, "audit_events"), "a refused create leaves no audit row")
}

func TestDépartementScoping(t *testing.T) {
	db := servicetest.NewDB(t)
	svc := territories.New(db)
	_, err := svc.Create(servicetest.As(servicetest.Admin47), territories.NewTerritory{Code: "47-FUMEL", Name: "Fumel"})
	require.NoError(t, err)

	gironde := servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"})
	_, err = svc.Get(gironde, "47-FUMEL")
	assert.ErrorIs(t, err, services.ErrNotFound)
	page, err := svc.List(gironde, services.PageRequest{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	name := "Hijacked"
	_, err = svc.Update(gironde, "47-FUMEL", services.AnyVersion, territories.Changes{Name: &name})
	assert.ErrorIs(t, err, services.ErrNotFound)

	got, err := svc.Get(servicetest.As(servicetest.Admin47), "47-FUMEL")
	require.NoError(t, err)
	assert.Equal(t, "Fumel", got.Name)
}

func TestListPaginatesByCode(t *testing.T) {
	db := servicetest.NewDB(t)
	svc := territories.New(db)
	ctx := servicetest.As(servicetest.Admin47)
	for _, code := range []string{"47-E", "47-A", "47-D", "47-B", "47-C"} {
		_, err := svc.Create(ctx, territories.NewTerritory{Code: code, Name: code})
		require.NoError(t, err)
	}
	var seen []string
	req := services.PageRequest{Limit: 2}
	pages := 0
	for {
		page, err := svc.List(ctx, req)
		require.NoError(t, err)
		pages++
		for _, it := range page.Items {
			seen = append(seen, it.Code)
		}
		if page.Next == nil {
			break
		}
		req.After = page.Next
	}
	assert.Equal(t, []string{"47-A", "47-B", "47-C", "47-D", "47-E"}, seen)
	assert.Equal(t, 3, pages)
}

func TestUpdateChecksVersion(t *testing.T) {
	db := servicetest.NewDB(t)
	svc := territories.New(db)
	ctx := servicetest.As(servicetest.Admin47)
	_, err := svc.Create(ctx, territories.NewTerritory{Code: "47-TONNEINS", Name: "Tonneins"})
	require.NoError(t, err)

	name := "Tonneins (CMS)"
	updated, err := svc.Update(ctx, "47-TONNEINS", 1, territories.Changes{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, 2, updated.Version)
	assert.Equal(t, name, updated.Name)
	assert.True(t, !updated.UpdatedAt.Before(updated.CreatedAt))

	stale := "Lost update"
	_, err = svc.Update(ctx, "47-TONNEINS", 1, territories.Changes{Name: &stale})
	assert.ErrorIs(t, err, services.ErrPreconditionFailed)

	blank := ""
	_, err = svc.Update(ctx, "47-TONNEINS", 2, territories.Changes{Name: &blank})
	assert.ErrorIs(t, err, services.ErrValidation)

	_, err = svc.Update(ctx, "47-NOWHERE", 1, territories.Changes{Name: &name})
	assert.ErrorIs(t, err, services.ErrNotFound)

	got, err := svc.Get(ctx, "47-TONNEINS")
	require.NoError(t, err)
	assert.Equal(t, "Tonneins (CMS)", got.Name)
	assert.Equal(t, 2, got.Version)

	var actions []string
	require.NoError(t, db.Model(&models.AuditEvent{}).Order("id").Pluck("action", &actions).Error)
	assert.Equal(t, []string{"create", "update"}, actions)
}

func TestAFailedTransactionWritesNothing(t *testing.T) {
	db := servicetest.NewDB(t)
	svc := territories.New(db)
	ctx := servicetest.As(servicetest.Admin47)
	boom := errors.New("boom")
	err := services.WithTx(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
		if _, err := svc.Create(ctx, territories.NewTerritory{Code: "47-MARMANDE", Name: "Marmande"}); err != nil {
			return err
		}
		return boom
	})
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, countRows(t, db, "territories"))
	assert.Zero(t, countRows(t, db, "audit_events"))
}

func TestWithoutPrincipalNothingIsServed(t *testing.T) {
	db := servicetest.NewDB(t)
	_, err := territories.New(db).List(context.Background(), services.PageRequest{Limit: 1})
	assert.ErrorIs(t, err, services.ErrForbidden)
}
