package organisations_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/organisations"
	"parcours/services/servicetest"
	"parcours/services/territories"
)

func ptr[T any](v T) *T { return &v }

func count(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table(table).Count(&n).Error)
	return n
}

func setup(t *testing.T) (*gorm.DB, *organisations.Service) {
	t.Helper()
	db := servicetest.NewDB(t)
	_, err := territories.New(db).Create(servicetest.As(servicetest.Admin47), territories.NewTerritory{Code: "47-AGEN1", Name: "Agen 1"})
	require.NoError(t, err)
	return db, organisations.New(db)
}

func TestOrganisationWriteRules(t *testing.T) {
	db, svc := setup(t)
	admin := servicetest.As(servicetest.Admin47)
	agen, err := svc.Create(admin, organisations.Input{Name: ptr("  Pôle emploi Agen "), Kind: ptr("pole_emploi"), TerritoryCode: ptr("47-agen1")})
	require.NoError(t, err)
	assert.Equal(t, "Pôle emploi Agen", agen.Name)
	assert.Equal(t, "47-AGEN1", *agen.TerritoryCode)
	ccas, err := svc.Create(admin, organisations.Input{Name: ptr("CCAS de Marmande"), Kind: ptr("ccas")})
	require.NoError(t, err)
	assert.Nil(t, ccas.TerritoryCode)

	tests := []struct {
		name   string
		do     func() error
		want   error
		fields []string
	}{
		{"nothing", func() error { _, err := svc.Create(admin, organisations.Input{}); return err }, services.ErrValidation, []string{"name", "kind"}},
		{"an unknown kind and a blank name", func() error {
			_, err := svc.Create(admin, organisations.Input{Name: ptr(" "), Kind: ptr("bank")})
			return err
		}, services.ErrValidation, []string{"name", "kind"}},
		{"an unknown territory", func() error {
			_, err := svc.Create(admin, organisations.Input{Name: ptr("AFEPT"), Kind: ptr("association"), TerritoryCode: ptr("47-NOWHERE")})
			return err
		}, services.ErrValidation, []string{"territory_code"}},
		{"a duplicate name", func() error {
			_, err := svc.Create(admin, organisations.Input{Name: ptr("Pôle emploi Agen"), Kind: ptr("other")})
			var dup *services.DuplicateError
			if assert.ErrorAs(t, err, &dup) {
				assert.Equal(t, agen.ID, dup.ExistingID)
			}
			return err
		}, services.ErrConflict, nil},
		{"renamed to a taken name", func() error {
			_, err := svc.Update(admin, ccas.ID, ccas.Version, organisations.Input{Name: ptr("Pôle emploi Agen")})
			return err
		}, services.ErrConflict, nil},
		{"a stale version", func() error {
			_, err := svc.Update(admin, ccas.ID, ccas.Version+1, organisations.Input{Kind: ptr("other")})
			return err
		}, services.ErrPreconditionFailed, nil},
		{"another département", func() error {
			_, err := svc.Update(servicetest.As(auth.Principal{Subject: "a", Role: auth.RoleAdmin, Departement: "33"}), ccas.ID, services.AnyVersion, organisations.Input{Kind: ptr("other")})
			return err
		}, services.ErrNotFound, nil},
		{"an agent", func() error {
			_, err := svc.Create(servicetest.As(auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}),
				organisations.Input{Name: ptr("X"), Kind: ptr("other")})
			return err
		}, services.ErrForbidden, nil},
	}
	orgs, audits := count(t, db, "organisations"), count(t, db, "audit_events")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			require.ErrorIs(t, err, tt.want)
			if tt.fields != nil {
				var verr *services.ValidationError
				require.ErrorAs(t, err, &verr)
				var got []string
				for _, f := range verr.Fields {
					got = append(got, f.Field)
				}
				assert.Equal(t, tt.fields, got)
			}
			assert.Equal(t, orgs, count(t, db, "organisations"))
			assert.Equal(t, audits, count(t, db, "audit_events"), "a refused write leaves no audit row")
		})
	}

	updated, err := svc.Update(admin, agen.ID, agen.Version, organisations.Input{TerritoryCode: ptr("")})
	require.NoError(t, err)
	assert.Nil(t, updated.TerritoryCode, `"" clears the territory`)
	assert.Equal(t, 2, updated.Version)

	page, err := svc.List(servicetest.As(auth.Principal{Subject: "p", Role: auth.RolePartner, Departement: "47", Organisation: "1"}),
		organisations.Filter{Kind: "ccas", Page: services.PageRequest{Limit: 10}})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "CCAS de Marmande", page.Items[0].Name)
}

func TestReferentsArePeople(t *testing.T) {
	db, svc := setup(t)
	admin := servicetest.As(servicetest.Admin47)
	pe, err := svc.Create(admin, organisations.Input{Name: ptr("Pôle emploi Agen"), Kind: ptr("pole_emploi")})
	require.NoError(t, err)
	plie, err := svc.Create(admin, organisations.Input{Name: ptr("PLIE de l'Agenais"), Kind: ptr("plie")})
	require.NoError(t, err)
	r, err := svc.CreateReferent(admin, pe.ID, organisations.ReferentInput{LastName: ptr(" Dubois "), FirstName: ptr("Claire"),
		Phone: ptr("+33 6 12 34 56 78"), Email: ptr("claire.dubois@example.org")})
	require.NoError(t, err)
	assert.Equal(t, "Dubois", r.LastName)
	assert.Equal(t, "0612345678", *r.Phone)
	assert.True(t, r.Active)

	_, err = svc.CreateReferent(admin, pe.ID, organisations.ReferentInput{FirstName: ptr("X"), Email: ptr("not an address"), Phone: ptr("12")})
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Fields, 3, "last_name, email and phone: %v", verr.Fields)
	_, err = svc.CreateReferent(admin, 999999, organisations.ReferentInput{LastName: ptr("A"), FirstName: ptr("B")})
	assert.ErrorIs(t, err, services.ErrNotFound)

	partner := func(org int64) auth.Principal {
		return auth.Principal{Subject: "p", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org, 10)}
	}
	readers := []struct {
		name string
		as   auth.Principal
		want error
	}{
		{"admin", servicetest.Admin47, nil},
		{"agent", auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}, nil},
		{"partner of the organisation", partner(pe.ID), nil},
		{"partner of another organisation", partner(plie.ID), services.ErrNotFound},
		{"manager", auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}, services.ErrForbidden},
	}
	for _, tt := range readers {
		t.Run(tt.name, func(t *testing.T) {
			audits := count(t, db, "audit_events")
			ctx := servicetest.As(tt.as)
			_, err := svc.Referent(ctx, r.ID)
			assert.ErrorIs(t, err, tt.want)
			_, err = svc.Referents(ctx, pe.ID, services.PageRequest{Limit: 10})
			assert.ErrorIs(t, err, tt.want)
			if tt.want == nil {
				assert.Equal(t, audits+2, count(t, db, "audit_events"), "each read of a referent is audited")
			} else {
				assert.Equal(t, audits, count(t, db, "audit_events"))
			}
		})
	}

	_, err = svc.UpdateReferent(admin, r.ID, r.Version+1, organisations.ReferentInput{Active: ptr(false)})
	assert.ErrorIs(t, err, services.ErrPreconditionFailed)
	updated, err := svc.UpdateReferent(admin, r.ID, r.Version, organisations.ReferentInput{Active: ptr(false), Phone: ptr("")})
	require.NoError(t, err)
	assert.False(t, updated.Active)
	assert.Nil(t, updated.Phone)
	assert.Equal(t, "claire.dubois@example.org", *updated.Email)
	assert.Equal(t, pe.ID, updated.OrganisationID)
}
