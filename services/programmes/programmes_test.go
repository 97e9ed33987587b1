package programmes_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/demo"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/pii"
	"parcours/services/programmes"
	"parcours/services/servicetest"
)

func ptr[T any](v T) *T { return &v }

func TestCreateAndChangeAProgramme(t *testing.T) {
	db := servicetest.NewDB(t)
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{5}, 32))
	require.NoError(t, err)
	_, err = demo.Seed(context.Background(), db, cipher) // the fiches of 2020
	require.NoError(t, err)
	fx := pathwaytest.New(t, db)
	a, b := fx.Organisation("Opérateur A", "association"), fx.Organisation("Opérateur B", "association")
	svc := programmes.New(db)
	ctx := servicetest.As(servicetest.Admin47)

	created, err := svc.Create(ctx, programmes.Input{Code: ptr("mobilite"), Name: ptr(" Mobilité "), ActionCode: ptr("6.2"),
		OrganisationIDs: &[]int64{b, a}, UnitCosts: &[]programmes.UnitCost{
			{Basis: programmes.BasisPerMonth, Amount: decimal.RequireFromString("80")},
			{Basis: programmes.BasisPerEvent, Event: "bilan", Amount: decimal.RequireFromString("120.50")}},
		MaxMonths: ptr(0), Capacity: ptr(12)})
	require.NoError(t, err)
	assert.Equal(t, "Mobilité", created.Name)
	assert.Equal(t, []int64{a, b}, created.OrganisationIDs, "by id")
	assert.Equal(t, []string{"per_event", "per_month"}, []string{created.UnitCosts[0].Basis, created.UnitCosts[1].Basis}, "by basis")
	assert.Nil(t, created.MaxMonths, "0 is no limit")
	assert.Equal(t, 12, *created.Capacity)

	changed, err := svc.Update(ctx, "mobilite", created.Version, programmes.Input{OrganisationIDs: &[]int64{a}, Capacity: ptr(0)})
	require.NoError(t, err)
	assert.Equal(t, []int64{a}, changed.OrganisationIDs, "the set given replaces the old one")
	assert.Len(t, changed.UnitCosts, 2, "the set not given stays")
	assert.Nil(t, changed.Capacity)
	assert.Equal(t, 2, changed.Version)

	_, err = svc.Update(ctx, "mobilite", 1, programmes.Input{Name: ptr("x")})
	assert.ErrorIs(t, err, services.ErrPreconditionFailed)
	_, err = svc.Create(servicetest.As(auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}),
		programmes.Input{Code: ptr("autre")})
	assert.ErrorIs(t, err, services.ErrForbidden)
	_, err = svc.Get(servicetest.As(auth.Principal{Subject: "b", Role: auth.RoleAdmin, Departement: "33"}), "mobilite")
	assert.ErrorIs(t, err, services.ErrNotFound, "another département's programme")

	page, err := svc.List(ctx, programmes.Filter{Action: "6.2", Page: services.PageRequest{Limit: 50}})
	require.NoError(t, err)
	var codes []string
	for _, p := range page.Items {
		codes = append(codes, p.Code)
	}
	assert.Equal(t, []string{"aide_permis", "asid", "mobilite", "pool_infirmier"}, codes)

	_, err = svc.Create(ctx, programmes.Input{Code: ptr("mobilite"), Name: ptr("x"), ActionCode: ptr("6.2"), OrganisationIDs: &[]int64{a}})
	assert.ErrorIs(t, err, services.ErrConflict)
	var v *services.ValidationError
	_, err = svc.Create(ctx, programmes.Input{Code: ptr("neuf"), Name: ptr("x"), ActionCode: ptr("7.7"), OrganisationIDs: &[]int64{a, 999999}})
	require.True(t, errors.As(err, &v), "%v", err)
	assert.Len(t, v.Fields, 2)
	var n int64
	require.NoError(t, db.Model(&models.Programme{}).Where("code = 'neuf'").Count(&n).Error)
	assert.Zero(t, n)
}
