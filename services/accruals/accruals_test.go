package accruals_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/accruals"
	"parcours/services/accruals/accompanimenttest"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/servicetest"
)

// setup inserts a territory and an organisation of fx's département, and returns the
// organisation's id.
func setup(t *testing.T, fx *accompanimenttest.Fixture) (org int64) {
	t.Helper()
	fx.Territory(fx.Departement + "-T1")
	return fx.Organisation("Organisme "+fx.Departement, "association")
}

// enrol enrols a new person of fx's territory in programme from started to ended ("" open).
func enrol(fx *accompanimenttest.Fixture, org, programme int64, started, ended, reason string) int64 {
	_, id := fx.Enrol(accompanimenttest.Journey{Territory: fx.Departement + "-T1", Enrolment: accompanimenttest.Enrolment{
		Programme: programme, Organisation: org, StartedOn: started, EndedOn: ended, ExitReason: reason}})
	return id
}

func date(t *testing.T, s string) *time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return &d
}

func TestEveryBasisUpToAsOf(t *testing.T) {
	db := servicetest.NewDB(t)
	fx := accompanimenttest.New(t, db, "47")
	org := setup(t, fx)
	prog := fx.Programme("P", "4.2", accompanimenttest.PerMonth("600.00"), accompanimenttest.PerEnrolment("100.00"), accompanimenttest.PerEvent("evaluation", "50.00"))
	e := enrol(fx, org, prog, "2021-03-16", "2021-06-20", "training")
	fx.Event(e, "evaluation", "2021-05-04")
	fx.Event(e, "evaluation", "2021-05-06")
	fx.Event(e, "evaluation", "2021-07-01") // after the exit: still costed, in July
	fx.Event(e, "interview", "2021-05-04")  // not a costed event of the programme
	svc := accruals.New(db)
	ctx := servicetest.As(servicetest.Admin47)

	for _, tt := range []struct {
		asOf   string
		months [12]string
		total  string
	}{{
		// Mar: 600 × 16/31 = 309.677… → 309.68, and the 100 of the enrolment: 409.68. Apr: 600.
		// May: 600 and two evaluations: 700. Jun: 600 × 20/30 = 400. Jul: the evaluation, 50.
		asOf:   "",
		months: [12]string{"0.00", "0.00", "409.68", "600.00", "700.00", "400.00", "50.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		total:  "2159.68",
	}, {
		// As of 5 May: May is 600 × 5/31 = 96.774… → 96.77 and the evaluation of the 4th: 146.77.
		asOf:   "2021-05-05",
		months: [12]string{"0.00", "0.00", "409.68", "600.00", "146.77", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		total:  "1156.45",
	}, {
		// As of 15 March: nothing has started.
		asOf:   "2021-03-15",
		months: [12]string{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		total:  "0.00",
	}, {
		// As of 16 March: one day of March, 600 × 1/31 = 19.354… → 19.35, and the 100.
		asOf:   "2021-03-16",
		months: [12]string{"0.00", "0.00", "119.35", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		total:  "119.35",
	}} {
		var asOf *time.Time
		want := *date(t, "2021-12-31")
		if tt.asOf != "" {
			asOf = date(t, tt.asOf)
			want = *asOf
		}
		got, err := svc.ForAction(ctx, "4.2", 2021, asOf)
		require.NoError(t, err, tt.asOf)
		assert.Equal(t, tt.months, accompanimenttest.Amounts(got), tt.asOf)
		assert.Equal(t, tt.total, got.Total.StringFixed(2), tt.asOf)
		assert.Equal(t, want, got.AsOf)
		assert.Equal(t, "4.2", got.Action)
		assert.Equal(t, 2021, got.Year)
		for i, m := range got.Months {
			assert.Equal(t, time.Date(2021, time.Month(i+1), 1, 0, 0, 0, 0, time.UTC), m.Start)
		}
	}

	// 2020 and 2022: nothing (the enrolment is all in 2021; its events too).
	for _, year := range []int{2020, 2022} {
		got, err := svc.ForAction(ctx, "4.2", year, nil)
		require.NoError(t, err)
		assert.True(t, got.Total.IsZero(), "%d", year)
	}
}

func TestRoundsEachEnrolmentAndMonthHalfAwayFromZero(t *testing.T) {
	db := servicetest.NewDB(t)
	fx := accompanimenttest.New(t, db, "47")
	org := setup(t, fx)
	prog := fx.Programme("P", "4.3", accompanimenttest.PerMonth("100.05"))
	// Two half Junes: 100.05 × 15/30 = 50.025 each → 50.03 each, half away from zero (half to
	// even would give 50.02): 100.06 in June, not round(100.05) = 100.05.
	enrol(fx, org, prog, "2021-06-16", "2021-06-30", "other")
	enrol(fx, org, prog, "2021-06-16", "2021-06-30", "other")
	got, err := accruals.New(db).ForAction(servicetest.As(servicetest.Admin47), "4.3", 2021, nil)
	require.NoError(t, err)
	assert.Equal(t, "100.06", got.Months[5].Amount.StringFixed(2))
	assert.Equal(t, "100.06", got.Total.StringFixed(2))
}

// withConvention returns a database holding the 2020 convention, and an administrator of 47.
func withConvention(t *testing.T) (*gorm.DB, context.Context) {
	t.Helper()
	db := servicetest.NewDB(t)
	ctx := servicetest.As(servicetest.Admin47)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	_, err = budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	return db, ctx
}

func TestAccrualsByActionAndDepartement(t *testing.T) {
	db, ctx := withConvention(t)

	lot := accompanimenttest.New(t, db, "47")
	org := setup(t, lot)
	enrol(lot, org, lot.Programme("PAAJM", "1.1", accompanimenttest.PerEnrolment("250.00")), "2020-02-10", "", "")
	enrol(lot, org, lot.Programme("JOB47", "4.2", accompanimenttest.PerEnrolment("40.00")), "2020-11-30", "", "")
	lot.Programme("EMPTY", "7.7") // known through its programme, never enrolled
	gironde := accompanimenttest.New(t, db, "33")
	org33 := setup(t, gironde)
	enrol(gironde, org33, gironde.Programme("JOB33", "4.2", accompanimenttest.PerEnrolment("999.00")), "2020-11-30", "", "")

	svc := accruals.New(db)
	all, err := svc.ByAction(ctx, 2020, nil)
	require.NoError(t, err)
	require.Len(t, all, 2, "only the actions that accrued")
	assert.Equal(t, "250.00", all["1.1"].Months[1].Amount.StringFixed(2))
	assert.Equal(t, "250.00", all["1.1"].Total.StringFixed(2))
	assert.Equal(t, "40.00", all["4.2"].Months[10].Amount.StringFixed(2), "not Gironde's 999")

	ctx33 := servicetest.As(auth.Principal{Subject: "admin33", Role: auth.RoleAdmin, Departement: "33"})
	gironde42, err := svc.ForAction(ctx33, "4.2", 2020, nil)
	require.NoError(t, err)
	assert.Equal(t, "999.00", gironde42.Total.StringFixed(2))
	_, err = svc.ForAction(ctx33, "1.1", 2020, nil)
	assert.ErrorIs(t, err, services.ErrNotFound, "Gironde has neither the convention nor a programme of 1.1")

	for _, code := range []string{"4.4", "7.7"} { // a fiche of the convention; a programme's action
		got, err := svc.ForAction(ctx, code, 2020, nil)
		require.NoError(t, err, code)
		assert.Len(t, got.Months, 12)
		assert.True(t, got.Total.IsZero())
	}
	_, err = svc.ForAction(ctx, "9.9", 2020, nil)
	assert.ErrorIs(t, err, services.ErrNotFound)

	_, err = svc.ForAction(ctx, "4.2", 2020, date(t, "2021-01-01"))
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "as_of", verr.Fields[0].Field)
	_, err = svc.ByAction(ctx, 2020, date(t, "2019-12-31"))
	assert.ErrorIs(t, err, services.ErrValidation)
}

func TestCumulAllocationsAccrueOnTheirBudgetLinesFicheInTheirMonth(t *testing.T) {
	db, ctx := withConvention(t)
	fx := accompanimenttest.New(t, db, "47")
	setup(t, fx)
	person := fx.Beneficiary(pathwaytest.Person{Territory: "47-T1", RightsOpenedOn: "2019-06-03"})
	var line models.BudgetLine
	require.NoError(t, db.Joins("JOIN actions a ON a.id = budget_lines.action_id").
		Where("a.code = '4.4' AND a.year = 2020 AND budget_lines.position = 1").Take(&line).Error)
	agreement := models.CumulAgreement{Departement: "47", BeneficiaryID: person, Employer: "EARL des Vergers", Siret: "73282932000074",
		Sector: "agriculture", ContractType: "seasonal", StartsOn: *date(t, "2020-05-15"), EndsOn: *date(t, "2020-08-31"),
		Hours: decimal.NewFromInt(35), Version: 1}
	require.NoError(t, db.Create(&agreement).Error)
	for month, amount := range map[string]string{"2020-05-01": "300.00", "2020-06-01": "564.78", "2020-07-01": "564.78"} {
		d := decimal.RequireFromString(amount)
		require.NoError(t, db.Create(&models.CumulAllocation{Departement: "47", AgreementID: agreement.ID, BudgetLineID: line.ID,
			Month: *date(t, month), Wages: d, RSAWithoutWages: d, Amount: d}).Error)
	}

	svc := accruals.New(db)
	got, err := svc.ForAction(ctx, "4.4", 2020, nil)
	require.NoError(t, err)
	assert.Equal(t, [12]string{"0.00", "0.00", "0.00", "0.00", "300.00", "564.78", "564.78", "0.00", "0.00", "0.00", "0.00", "0.00"},
		accompanimenttest.Amounts(got))
	assert.Equal(t, "1429.56", got.Total.StringFixed(2))

	// As of 1 June: June's allocation is of a month started by then; July's is not.
	got, err = svc.ForAction(ctx, "4.4", 2020, date(t, "2020-06-01"))
	require.NoError(t, err)
	assert.Equal(t, "864.78", got.Total.StringFixed(2))
	all, err := svc.ByAction(ctx, 2020, nil)
	require.NoError(t, err)
	assert.Equal(t, "1429.56", all["4.4"].Total.StringFixed(2), "the spend report reads ByAction")
	gironde, err := svc.ByAction(servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), 2020, nil)
	require.NoError(t, err)
	assert.NotContains(t, gironde, "4.4")
}
