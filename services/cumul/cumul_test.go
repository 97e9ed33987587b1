package cumul_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/cumul"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/servicetest"
)

var (
	agentAgen  = auth.Principal{Subject: "cms-agen", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}
	agentNerac = auth.Principal{Subject: "cms-nerac", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-NERAC"}}
	manager    = auth.Principal{Subject: "dir", Role: auth.RoleManager, Departement: "47"}
	partner    = auth.Principal{Subject: "pe", Role: auth.RolePartner, Departement: "47", Organisation: "1"}
)

// env is a database holding the 2020 convention, the rSa parameters and a cumul scheme, with
// two territories of Lot-et-Garonne.
type env struct {
	t   *testing.T
	db  *gorm.DB
	svc *cumul.Service
	fx  *pathwaytest.Fixture
	ctx context.Context // as the administrator
}

func newEnv(t *testing.T, scheme cumul.Scheme) *env {
	t.Helper()
	db := servicetest.NewDB(t)
	ctx := servicetest.As(servicetest.Admin47)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	_, err = budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	_, err = cumul.Seed(ctx, db, scheme, cumul.NationalParameters)
	require.NoError(t, err)
	fx := pathwaytest.New(t, db)
	fx.Territory("47-AGEN1")
	fx.Territory("47-NERAC")
	return &env{t: t, db: db, svc: cumul.New(db), fx: fx, ctx: ctx}
}

func (e *env) person(territory string) int64 {
	return e.fx.Beneficiary(pathwaytest.Person{Territory: territory, RightsOpenedOn: "2019-06-03"})
}

func ptr[T any](v T) *T { return &v }

func day(t *testing.T, s string) *time.Time {
	t.Helper()
	d := pathwaytest.Date(t, s)
	return &d
}

func money(s string) *decimal.Decimal { return ptr(eur(s)) }

// agreement is a valid agreement of beneficiary from starts to ends at "EARL des Vergers".
func agreement(t *testing.T, beneficiary int64, starts, ends string) cumul.AgreementInput {
	return cumul.AgreementInput{BeneficiaryID: &beneficiary, Employer: ptr("EARL des Vergers"), SIRET: ptr("732 829 320 00074"),
		Sector: ptr("agriculture"), ContractType: ptr("seasonal"), StartsOn: day(t, starts), EndsOn: day(t, ends), Hours: money("35")}
}

func (e *env) agree(in cumul.AgreementInput) cumul.Agreement {
	e.t.Helper()
	a, err := e.svc.CreateAgreement(e.ctx, in)
	require.NoError(e.t, err)
	return a
}

// allocation gives the rSa: wages and rsa in euros for month "2020-06".
func allocation(t *testing.T, month, wages, rsa string) cumul.AllocationInput {
	in := cumul.AllocationInput{Month: day(t, month+"-01"), Wages: money(wages)}
	if rsa != "" {
		in.RSAWithoutWages = money(rsa)
	}
	return in
}

// counts are the agreements, allocations and audit rows: a refused request changes none.
func (e *env) counts() [3]int64 {
	e.t.Helper()
	var out [3]int64
	for i, table := range []string{"cumul_agreements", "cumul_allocations", "audit_events"} {
		require.NoError(e.t, e.db.Table(table).Count(&out[i]).Error)
	}
	return out
}

// refused checks that call fails with exactly fields (a validation error) or else with is, and
// writes nothing.
func (e *env) refused(t *testing.T, call func() error, fields []string, is error) {
	t.Helper()
	before := e.counts()
	err := call()
	if fields != nil {
		assert.ElementsMatch(t, fields, fieldsOf(t, err))
	} else {
		assert.ErrorIs(t, err, is)
	}
	assert.Equal(t, before, e.counts(), "nothing written")
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestAgreementRulesWriteNothingWhenTheyRefuse(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	agen, nerac := e.person("47-AGEN1"), e.person("47-NERAC")
	first := e.agree(agreement(t, agen, "2020-05-04", "2020-09-30"))
	assert.Equal(t, "73282932000074", first.SIRET, "spaces dropped")
	assert.Equal(t, 1, first.Version)

	valid := func() cumul.AgreementInput { return agreement(t, agen, "2020-10-01", "2020-12-31") }
	for _, tt := range []struct {
		name   string
		as     auth.Principal
		change func(*cumul.AgreementInput)
		fields []string
		is     error
	}{
		{"empty", servicetest.Admin47, func(in *cumul.AgreementInput) { *in = cumul.AgreementInput{} },
			[]string{"beneficiary_id", "employer", "siret", "sector", "contract_type", "starts_on", "ends_on", "hours"}, nil},
		{"before the window", servicetest.Admin47, func(in *cumul.AgreementInput) { in.StartsOn = day(t, "2020-03-31") }, []string{"starts_on"}, nil},
		{"after the window", servicetest.Admin47, func(in *cumul.AgreementInput) { in.EndsOn = day(t, "2022-01-01") }, []string{"ends_on"}, nil},
		{"ends before it starts", servicetest.Admin47, func(in *cumul.AgreementInput) { in.EndsOn = day(t, "2020-09-30") }, []string{"ends_on"}, nil},
		{"no hours", servicetest.Admin47, func(in *cumul.AgreementInput) { in.Hours = money("0") }, []string{"hours"}, nil},
		{"more than 60 hours a week", servicetest.Admin47, func(in *cumul.AgreementInput) { in.Hours = money("60.5") }, []string{"hours"}, nil},
		{"bad SIRET key", servicetest.Admin47, func(in *cumul.AgreementInput) { in.SIRET = ptr("73282932000075") }, []string{"siret"}, nil},
		{"short SIRET", servicetest.Admin47, func(in *cumul.AgreementInput) { in.SIRET = ptr("7328293200007") }, []string{"siret"}, nil},
		{"sector and contract", servicetest.Admin47, func(in *cumul.AgreementInput) { in.Sector, in.ContractType = ptr("building"), ptr("permanent") },
			[]string{"sector", "contract_type"}, nil},
		{"blank employer", servicetest.Admin47, func(in *cumul.AgreementInput) { in.Employer = ptr("") }, []string{"employer"}, nil},
		{"unknown person", servicetest.Admin47, func(in *cumul.AgreementInput) { in.BeneficiaryID = ptr(int64(999999)) }, nil, services.ErrNotFound},
		{"agent of another territory", agentNerac, nil, nil, services.ErrNotFound},
		{"manager", manager, nil, nil, services.ErrForbidden},
		{"partner", partner, nil, nil, services.ErrForbidden},
		{"same employer, overlapping", servicetest.Admin47, func(in *cumul.AgreementInput) { in.StartsOn = day(t, "2020-09-30") }, nil, services.ErrConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			if tt.change != nil {
				tt.change(&in)
			}
			e.refused(t, func() error {
				_, err := e.svc.CreateAgreement(servicetest.As(tt.as), in)
				return err
			}, tt.fields, tt.is)
		})
	}

	var dup *services.DuplicateError
	_, err := e.svc.CreateAgreement(e.ctx, agreement(t, agen, "2020-09-01", "2020-11-30"))
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, first.ID, dup.ExistingID)

	// Overlapping agreements with other employers are each checked and allowed; so is the same
	// employer again once the first contract is over; and the agent of the person's territory.
	other := agreement(t, agen, "2020-06-01", "2020-07-31")
	other.Employer, other.SIRET, other.Sector, other.ContractType = ptr("Conserverie du Lot"), ptr("44306184100047"), ptr("agrifood"), ptr("fixed_term")
	e.agree(other)
	e.agree(agreement(t, agen, "2020-10-01", "2021-03-31"))
	_, err = e.svc.CreateAgreement(servicetest.As(agentAgen), agreement(t, agen, "2021-04-01", "2021-12-31"))
	require.NoError(t, err)
	_, err = e.svc.CreateAgreement(servicetest.As(agentAgen), agreement(t, nerac, "2021-04-01", "2021-12-31"))
	assert.ErrorIs(t, err, services.ErrNotFound)
	var audited int64
	require.NoError(t, e.db.Table("audit_events").Where("resource = 'cumul_agreement' AND action = 'create'").Count(&audited).Error)
	assert.Equal(t, int64(4), audited)

	// Reads: the agent of the territory sees them, another agent does not; reads are audited.
	page, err := e.svc.Agreements(servicetest.As(agentAgen), cumul.Filter{BeneficiaryID: agen, Page: services.PageRequest{Limit: 2}})
	require.NoError(t, err)
	assert.Len(t, page.Items, 2)
	assert.NotNil(t, page.Next)
	page, err = e.svc.Agreements(servicetest.As(agentNerac), cumul.Filter{Page: services.PageRequest{Limit: 50}})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	_, err = e.svc.Agreement(servicetest.As(agentNerac), first.ID)
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = e.svc.Agreements(servicetest.As(manager), cumul.Filter{Page: services.PageRequest{Limit: 50}})
	assert.ErrorIs(t, err, services.ErrForbidden)
	var reads int64
	require.NoError(t, e.db.Table("audit_events").Where("resource = 'cumul_agreement' AND action = 'read'").Count(&reads).Error)
	assert.Equal(t, int64(2), reads)
}

func TestNoSchemeNoAgreement(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	require.NoError(t, e.db.Exec(`DELETE FROM cumul_schemes`).Error)
	_, err := e.svc.CreateAgreement(e.ctx, agreement(t, e.person("47-AGEN1"), "2020-05-04", "2020-09-30"))
	assert.Equal(t, []string{"starts_on"}, fieldsOf(t, err))
}

func TestAllocationEngineThroughTheService(t *testing.T) {
	// A scheme open from 2019 so that months before the April 2020 revaluation can be tried.
	e := newEnv(t, cumul.Scheme{ActionCode: "4.4", BudgetLineLabel: "Financement de l'allocation", // straight apostrophe
		StartsOn: *day(t, "2019-01-01"), EndsOn: *day(t, "2021-12-31")})
	person := e.person("47-AGEN1")
	a := e.agree(agreement(t, person, "2020-01-06", "2020-12-31"))

	for _, tt := range []struct {
		name, month, wages   string
		size                 *int
		housing              *bool
		other                *decimal.Decimal
		validFrom, rsa, paid string
	}{
		// March 2020: the 2019 amount, 559.74, for the beneficiary's household of 1.
		{"March, parameters of 2019", "2020-03", "1200.00", nil, nil, nil, "2019-04-01", "559.74", "559.74"},
		// April 2020: 564.78; wages below it.
		{"April, parameters of 2020", "2020-04", "300.00", nil, nil, nil, "2020-04-01", "564.78", "300.00"},
		// 3 persons with housing aid: 1016.60 − 167.74 = 848.86; wages above.
		{"household of 3 with housing aid", "2020-05", "900.00", ptr(3), ptr(true), nil, "2020-04-01", "848.86", "848.86"},
		// 2 persons, 200 € of other resources: 847.17 − 200 = 647.17; wages equal.
		{"other resources", "2020-06", "647.17", ptr(2), ptr(false), money("200.00"), "2020-04-01", "647.17", "647.17"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := allocation(t, tt.month, tt.wages, "")
			in.HouseholdSize, in.HousingAid, in.OtherResources = tt.size, tt.housing, tt.other
			got, err := e.svc.Allocate(e.ctx, a.ID, in)
			require.NoError(t, err)
			require.NotNil(t, got.Parameters)
			assert.Equal(t, tt.validFrom, got.Parameters.ValidFrom.Format(time.DateOnly))
			assert.Equal(t, tt.rsa, got.RSAWithoutWages.StringFixed(2))
			assert.Equal(t, tt.paid, got.Amount.StringFixed(2))
		})
	}

	// The parameters are stored with the allocation and read back.
	page, err := e.svc.Allocations(e.ctx, a.ID, services.PageRequest{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 4)
	p := page.Items[2].Parameters
	require.NotNil(t, p)
	assert.Equal(t, 3, p.HouseholdSize)
	assert.Equal(t, "1.8", p.Multiplier.String())
	assert.Equal(t, "1016.60", p.HouseholdAmount.StringFixed(2))
	assert.Equal(t, "0.165", p.HousingRate.Decimal.String())
	assert.Equal(t, "167.74", p.HousingDeduction.StringFixed(2))
	assert.False(t, page.Items[0].Parameters.HousingRate.Valid, "no housing aid, no rate")

	// No parameters before April 2019: the rSa must be given (the 2019 fiche has no envelope
	// anyway, which a given rSa then runs into).
	b := e.agree(agreement(t, e.person("47-AGEN1"), "2019-01-07", "2019-03-29"))
	_, err = e.svc.Allocate(e.ctx, b.ID, allocation(t, "2019-02", "500.00", ""))
	assert.Equal(t, []string{"rsa_without_wages"}, fieldsOf(t, err))
	_, err = e.svc.Allocate(e.ctx, b.ID, allocation(t, "2019-02", "500.00", "550.93"))
	assert.Equal(t, []string{"month"}, fieldsOf(t, err))
}

func TestAllocationRulesWriteNothingWhenTheyRefuse(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	person := e.person("47-AGEN1")
	a := e.agree(agreement(t, person, "2020-05-15", "2020-09-10"))
	first, err := e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-06", "1200.00", "564.78"))
	require.NoError(t, err)
	assert.Equal(t, "564.78", first.Amount.StringFixed(2))
	assert.Equal(t, "0.00", first.RSAWithWages.StringFixed(2))
	assert.Nil(t, first.Parameters)
	assert.Equal(t, person, first.BeneficiaryID)
	// The month the agreement starts and the one it ends in are covered.
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-05", "250.00", "564.78"))
	require.NoError(t, err)
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-09", "150.00", "564.78"))
	require.NoError(t, err)

	for _, tt := range []struct {
		name   string
		as     auth.Principal
		id     int64
		in     cumul.AllocationInput
		fields []string
		is     error
	}{
		{"before the agreement", servicetest.Admin47, a.ID, allocation(t, "2020-04", "100.00", "564.78"), []string{"month"}, nil},
		{"after the agreement", servicetest.Admin47, a.ID, allocation(t, "2020-10", "100.00", "564.78"), []string{"month"}, nil},
		{"not the first of a month", servicetest.Admin47, a.ID, cumul.AllocationInput{Month: day(t, "2020-07-02"), Wages: money("1")}, []string{"month"}, nil},
		{"no wages", servicetest.Admin47, a.ID, cumul.AllocationInput{Month: day(t, "2020-07-01")}, []string{"wages"}, nil},
		{"household with a given rSa", servicetest.Admin47, a.ID, func() cumul.AllocationInput {
			in := allocation(t, "2020-07", "100.00", "564.78")
			in.HouseholdSize, in.HousingAid = ptr(2), ptr(true)
			return in
		}(), []string{"household_size", "housing_aid"}, nil},
		{"household of 0", servicetest.Admin47, a.ID, func() cumul.AllocationInput {
			in := allocation(t, "2020-07", "100.00", "")
			in.HouseholdSize = ptr(0)
			return in
		}(), []string{"household_size"}, nil},
		{"second allocation of a month", servicetest.Admin47, a.ID, allocation(t, "2020-06", "100.00", "564.78"), nil, services.ErrConflict},
		{"agent of another territory", agentNerac, a.ID, allocation(t, "2020-07", "100.00", "564.78"), nil, services.ErrNotFound},
		{"unknown agreement", servicetest.Admin47, 999999, allocation(t, "2020-07", "100.00", "564.78"), nil, services.ErrNotFound},
		{"manager", manager, a.ID, allocation(t, "2020-07", "100.00", "564.78"), nil, services.ErrForbidden},
		{"partner", partner, a.ID, allocation(t, "2020-07", "100.00", "564.78"), nil, services.ErrForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.refused(t, func() error {
				_, err := e.svc.Allocate(servicetest.As(tt.as), tt.id, tt.in)
				return err
			}, tt.fields, tt.is)
		})
	}
	var dup *services.DuplicateError
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-06", "100.00", "564.78"))
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, first.ID, dup.ExistingID)

	// The unemployment rights reopen on 15 July: July is allocated, August is refused.
	_, err = e.svc.UpdateAgreement(e.ctx, a.ID, a.Version, cumul.AgreementChange{ReopenedOn: day(t, "2020-07-15")})
	assert.Equal(t, []string{"unemployment_rights_reopened_on"}, fieldsOf(t, err), "September is already allocated")
	_, err = e.svc.UpdateAgreement(e.ctx, a.ID, a.Version, cumul.AgreementChange{EndsOn: day(t, "2020-08-31")})
	assert.Equal(t, []string{"ends_on"}, fieldsOf(t, err), "September is already allocated")

	b := e.agree(agreement(t, e.person("47-AGEN1"), "2020-05-15", "2020-09-10"))
	b, err = e.svc.UpdateAgreement(e.ctx, b.ID, b.Version, cumul.AgreementChange{ReopenedOn: day(t, "2020-07-15")})
	require.NoError(t, err)
	assert.Equal(t, 2, b.Version)
	_, err = e.svc.Allocate(e.ctx, b.ID, allocation(t, "2020-07", "100.00", "564.78"))
	require.NoError(t, err)
	before := e.counts()
	_, err = e.svc.Allocate(e.ctx, b.ID, allocation(t, "2020-08", "100.00", "564.78"))
	assert.Equal(t, []string{"month"}, fieldsOf(t, err))
	assert.Equal(t, before, e.counts())
	// Forgetting the reopening (a correction) allows August again.
	b, err = e.svc.UpdateAgreement(e.ctx, b.ID, b.Version, cumul.AgreementChange{ClearReopened: true})
	require.NoError(t, err)
	assert.Nil(t, b.UnemploymentRightsReopenedOn)
	_, err = e.svc.Allocate(e.ctx, b.ID, allocation(t, "2020-08", "100.00", "564.78"))
	require.NoError(t, err)
}

func TestAgreementChanges(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	a := e.agree(agreement(t, e.person("47-AGEN1"), "2020-05-15", "2020-09-10"))
	_, err := e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-06", "100.00", "564.78"))
	require.NoError(t, err)
	for _, tt := range []struct {
		name    string
		as      auth.Principal
		version int
		change  cumul.AgreementChange
		fields  []string
		is      error
	}{
		{"extended", servicetest.Admin47, 1, cumul.AgreementChange{EndsOn: day(t, "2020-09-11")}, []string{"ends_on"}, nil},
		{"ends before it starts", servicetest.Admin47, 1, cumul.AgreementChange{EndsOn: day(t, "2020-05-14")}, []string{"ends_on"}, nil},
		{"ends before an allocated month", servicetest.Admin47, 1, cumul.AgreementChange{EndsOn: day(t, "2020-05-31")}, []string{"ends_on"}, nil},
		{"reopened before the start", servicetest.Admin47, 1, cumul.AgreementChange{ReopenedOn: day(t, "2020-05-01")}, []string{"unemployment_rights_reopened_on"}, nil},
		{"stale version", servicetest.Admin47, 2, cumul.AgreementChange{EndsOn: day(t, "2020-08-31")}, nil, services.ErrPreconditionFailed},
		{"agent of another territory", agentNerac, 1, cumul.AgreementChange{EndsOn: day(t, "2020-08-31")}, nil, services.ErrNotFound},
		{"manager", manager, 1, cumul.AgreementChange{EndsOn: day(t, "2020-08-31")}, nil, services.ErrForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.refused(t, func() error {
				_, err := e.svc.UpdateAgreement(servicetest.As(tt.as), a.ID, tt.version, tt.change)
				return err
			}, tt.fields, tt.is)
		})
	}
	// Closed early on 1 June by the agent of the territory: June stays allocated, July is out.
	closed, err := e.svc.UpdateAgreement(servicetest.As(agentAgen), a.ID, services.AnyVersion, cumul.AgreementChange{EndsOn: day(t, "2020-06-01"), ReopenedOn: day(t, "2020-06-01")})
	require.NoError(t, err)
	assert.Equal(t, "2020-06-01", closed.EndsOn.Format(time.DateOnly))
	assert.Equal(t, 2, closed.Version)
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-07", "100.00", "564.78"))
	assert.Equal(t, []string{"month"}, fieldsOf(t, err))
	var updates int64
	require.NoError(t, e.db.Table("audit_events").Where("resource = 'cumul_agreement' AND action = 'update'").Count(&updates).Error)
	assert.Equal(t, int64(1), updates)
}

func TestNoAllocationForAFutureMonth(t *testing.T) {
	e := newEnv(t, cumul.Scheme{ActionCode: "4.4", BudgetLineLabel: "Financement de l’allocation", StartsOn: *day(t, "2020-04-01"), EndsOn: *day(t, "2099-12-31")})
	now := time.Now().UTC()
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	a := e.agree(agreement(t, e.person("47-AGEN1"), thisMonth.AddDate(0, -1, 0).Format(time.DateOnly), thisMonth.AddDate(1, 0, 0).Format(time.DateOnly)))
	_, err := e.svc.Allocate(e.ctx, a.ID, cumul.AllocationInput{Month: ptr(thisMonth.AddDate(0, 1, 0)), Wages: money("100.00"), RSAWithoutWages: money("565.34")})
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []services.FieldError{{Field: "month", Message: "must not be after the current month"}}, verr.Fields)
}

func TestEnvelope(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	a := e.agree(agreement(t, e.person("47-AGEN1"), "2020-05-01", "2021-06-30"))
	env, err := e.svc.Envelope(servicetest.As(manager), 2020)
	require.NoError(t, err)
	assert.Equal(t, "200000.00", env.Budget.StringFixed(2))
	assert.Equal(t, "200000.00", env.Remaining.StringFixed(2))

	// Bring the 2020 line down to 1 000 € to reach it: 564.78 + 400 fit, 100 more do not.
	require.NoError(t, e.db.Exec(`UPDATE budget_lines SET amount = 1000, departement_share = 1000 WHERE amount = 200000`).Error)
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-05", "900.00", "564.78"))
	require.NoError(t, err)
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-06", "400.00", "564.78"))
	require.NoError(t, err)
	before := e.counts()
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-07", "100.00", "564.78"))
	var envErr *cumul.EnvelopeError
	require.ErrorAs(t, err, &envErr)
	assert.ErrorIs(t, err, services.ErrConflict)
	assert.Equal(t, "35.22", envErr.Remaining().StringFixed(2), "1000 − 564.78 − 400")
	assert.Equal(t, before, e.counts())
	// An allocation that takes exactly what is left passes; a nil one always does.
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-07", "35.22", "564.78"))
	require.NoError(t, err)
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-08", "0", "564.78"))
	require.NoError(t, err)

	env, err = e.svc.Envelope(servicetest.As(agentAgen), 2020)
	require.NoError(t, err)
	assert.Equal(t, [3]string{"1000.00", "1000.00", "0.00"}, [3]string{env.Budget.StringFixed(2), env.Allocated.StringFixed(2), env.Remaining.StringFixed(2)})

	// 2021 has no fiche in the convention yet: no envelope.
	_, err = e.svc.Allocate(e.ctx, a.ID, allocation(t, "2021-01", "100.00", "565.34"))
	assert.Equal(t, []string{"month"}, fieldsOf(t, err))
	_, err = e.svc.Envelope(e.ctx, 2021)
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = e.svc.Envelope(servicetest.As(partner), 2020)
	assert.ErrorIs(t, err, services.ErrForbidden)
	_, err = e.svc.Envelope(servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), 2020)
	assert.ErrorIs(t, err, services.ErrNotFound)
}

func TestTwoEmployersTheSameMonthNeverPayMoreThanTheRSA(t *testing.T) {
	e := newEnv(t, cumul.Scheme44)
	person := e.person("47-AGEN1")
	a := e.agree(agreement(t, person, "2020-06-01", "2020-06-30"))
	other := agreement(t, person, "2020-06-15", "2020-07-31")
	other.SIRET = ptr("44306184100047")
	b := e.agree(other)
	first, err := e.svc.Allocate(e.ctx, a.ID, allocation(t, "2020-06", "400.00", "564.78"))
	require.NoError(t, err)
	assert.Equal(t, "400.00", first.Amount.StringFixed(2))
	// 564.78 − 400 = 164.78 is left to neutralise of the second employer's 300.
	second, err := e.svc.Allocate(e.ctx, b.ID, allocation(t, "2020-06", "300.00", "564.78"))
	require.NoError(t, err)
	assert.Equal(t, "400.00", second.OtherAllocated.StringFixed(2))
	assert.Equal(t, "164.78", second.Amount.StringFixed(2))
	assert.Equal(t, "0.00", second.RSAWithWages.StringFixed(2))
}
