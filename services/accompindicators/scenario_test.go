package accompindicators_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accompindicators"
	"parcours/services/accruals"
	"parcours/services/accruals/accompanimenttest"
	"parcours/services/budget"
	"parcours/services/enrolments"
	"parcours/services/indicators"
	"parcours/services/servicetest"
)

// year2020 is a year of enrolments in four fiches, with known dates and unit costs, in
// Lot-et-Garonne, on top of the 2020 convention (its indicator definitions).
type year2020 struct {
	db         *gorm.DB
	ctx        context.Context
	indicators *indicators.Service
	accruals   *accruals.Service
	exits      *accompindicators.Service
	fx         *accompanimenttest.Fixture
	org, paajm int64
}

func newYear2020(t *testing.T) year2020 {
	t.Helper()
	db := servicetest.NewDB(t)
	ctx := servicetest.As(servicetest.Admin47)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	_, err = budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	registry := indicators.NewRegistry()
	accompindicators.RegisterIndicators(registry)

	fx := accompanimenttest.New(t, db, "47")
	fx.Territory("47-AGEN1")
	fx.Territory("47-NERAC")
	org := fx.Organisation("Pôle emploi Agen", "pole_emploi")
	paajm := fx.Programme("PAAJM", "1.1", accompanimenttest.PerEvent("diagnostic_interview", "250.00"), accompanimenttest.PerMonth("600.00"))
	global := fx.Programme("ASG", "4.1", accompanimenttest.PerEnrolment("450.00"))
	job47 := fx.Programme("JOB47", "4.2", accompanimenttest.PerMonth("600.00"))
	independents := fx.Programme("TI", "4.3", accompanimenttest.PerEvent("first_evaluation", "160.00"),
		accompanimenttest.PerEnrolment("258.00"), accompanimenttest.PerEvent("viability_evaluation", "150.00"))
	enrol := func(territory string, programme int64, decided, notified, started, appointment, ended, reason string) (int64, int64) {
		return fx.Enrol(accompanimenttest.Journey{Territory: territory, DecidedOn: decided, NotifiedOn: notified,
			Enrolment: accompanimenttest.Enrolment{Programme: programme, Organisation: org,
				StartedOn: started, FirstAppointmentOn: appointment, EndedOn: ended, ExitReason: reason}})
	}

	// Fiche 4.2, JOB47 at 600 €/month.
	// A: decided 03-02, notified 03-05; appointment 03-16 (14 days); CER 04-20 (46 days after
	// the notice), PPAE 05-05 (a second contract: counted once); 03-16 → 05-10.
	a, aEnrolment := enrol("47-AGEN1", job47, "2020-03-02", "2020-03-05", "2020-03-16", "2020-03-16", "2020-05-10", "employment_permanent")
	fx.Contract(aEnrolment, a, "cer", "2020-04-20")
	fx.Contract(aEnrolment, a, "ppae", "2020-05-05")
	// B: decided 2019-11-04 (a 2019 figure), appointment 2019-11-25 (21 days); 2019-11-20 → 2020-02-14.
	enrol("47-AGEN1", job47, "2019-11-04", "2019-11-06", "2019-11-20", "2019-11-25", "2020-02-14", "training")
	// C (Nérac): decided 05-10, never notified; appointment 06-01 (22 days); PPAE 06-15; open from 06-01.
	c, cEnrolment := enrol("47-NERAC", job47, "2020-05-10", "", "2020-06-01", "2020-06-01", "", "")
	fx.Contract(cEnrolment, c, "ppae", "2020-06-15")
	// D: decided 10-01, notified 10-02; appointment 10-15 (14 days); CER 12-02 (61 days); 10-10 → 12-31.
	d, dEnrolment := enrol("47-AGEN1", job47, "2020-10-01", "2020-10-02", "2020-10-10", "2020-10-15", "2020-12-31", "moved")
	fx.Contract(dEnrolment, d, "cer", "2020-12-02")
	// E: decided 12-01, no appointment yet, no contract; open from 12-20.
	enrol("47-AGEN1", job47, "2020-12-01", "", "2020-12-20", "", "", "")

	// Fiche 4.3, independent workers: 160 € first evaluation, 258 € per enrolment, 150 € viability.
	// I1: decided 01-27, notified 01-30; appointment 02-03 (7 days); CER TI 03-02 (32 days); 02-03 → 08-31.
	i1, i1Enrolment := enrol("47-AGEN1", independents, "2020-01-27", "2020-01-30", "2020-02-03", "2020-02-03", "2020-08-31", "business_created")
	fx.Contract(i1Enrolment, i1, "cer_ti", "2020-03-02")
	fx.Event(i1Enrolment, "first_evaluation", "2020-02-03")
	fx.Event(i1Enrolment, "viability_evaluation", "2020-06-15")
	// I2: decided 06-05, notified 06-08; appointment 07-01 (26 days); CER 08-20 (73 days); open from 07-01.
	i2, i2Enrolment := enrol("47-NERAC", independents, "2020-06-05", "2020-06-08", "2020-07-01", "2020-07-01", "", "")
	fx.Contract(i2Enrolment, i2, "cer", "2020-08-20")
	fx.Event(i2Enrolment, "first_evaluation", "2020-07-01")

	// Fiche 4.1, accompagnement global at 450 € per enrolment (no orientation needed here).
	// G1: 2019-10-01 → 2020-02-29 (151 days). G2: 04-15 → 10-14 (182 days), the same person
	// again from 11-16. G3 (Nérac): open from 11-02. G5: 2019-06-01 → 2019-12-20, not in 2020.
	enrol("47-AGEN1", global, "", "", "2019-10-01", "", "2020-02-29", "employment_fixed_term")
	g2, _ := enrol("47-AGEN1", global, "", "", "2020-04-15", "", "2020-10-14", "reoriented")
	fx.Enrol(accompanimenttest.Journey{Enrolment: accompanimenttest.Enrolment{Beneficiary: g2, Programme: global,
		Organisation: org, StartedOn: "2020-11-16"}})
	enrol("47-NERAC", global, "", "", "2020-11-02", "", "", "")
	enrol("47-AGEN1", global, "", "", "2019-06-01", "", "2019-12-20", "other")

	// Fiche 1.1, PAAJM: 250 € per diagnostic interview, 600 €/month.
	// P1: 01-06 → 07-05, diagnostic 01-06. P2: open from 09-14, diagnostic 09-14.
	// P3: 2019-12-02 → 2020-03-31, diagnostic 2019-12-02.
	_, p1 := enrol("47-AGEN1", paajm, "", "", "2020-01-06", "", "2020-07-05", "civic_service")
	fx.Event(p1, "diagnostic_interview", "2020-01-06")
	_, p2 := enrol("47-NERAC", paajm, "", "", "2020-09-14", "", "", "")
	fx.Event(p2, "diagnostic_interview", "2020-09-14")
	_, p3 := enrol("47-AGEN1", paajm, "", "", "2019-12-02", "", "2020-03-31", "gave_up")
	fx.Event(p3, "diagnostic_interview", "2019-12-02")

	return year2020{db: db, ctx: ctx, indicators: indicators.New(db, registry), accruals: accruals.New(db),
		exits: accompindicators.New(db), fx: fx, org: org, paajm: paajm}
}

// values are the indicators of the accompaniment fiches that have a value, by code.
func (y year2020) values(t *testing.T, year int, territory string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, fiche := range []string{"1.1", "4.1", "4.2", "4.3"} {
		rep, err := y.indicators.Report(y.ctx, indicators.ReportFilter{Year: year, ActionCode: fiche, Territory: territory})
		require.NoError(t, err)
		for _, r := range rep.Rows {
			if r.Value.Valid {
				out[r.Code] = r.Value.Decimal.String()
			}
		}
	}
	return out
}

func TestAccompanimentIndicatorsComputedByHand(t *testing.T) {
	y := newYear2020(t)

	all := y.values(t, 2020, "")
	assert.Equal(t, map[string]string{
		// Orientations decided in 2020 in 4.2: A, C, D, E. Appointments: A, C, D; within 14
		// days: A (14) and D (14), not C (22). First contracts: A, C, D; within 60 days of the
		// notice: A (46), not C (no notice) nor D (61).
		"4.2.first_appointments": "3", "4.2.first_appointments_2_weeks": "2",
		"4.2.first_contracts": "3", "4.2.first_contracts_2_months": "1",
		// 4.3: I1 (7 days; CER TI 32 days) and I2 (26 days; CER 73 days).
		"4.3.first_appointments": "2", "4.3.first_appointments_2_weeks": "1",
		"4.3.first_contracts": "2", "4.3.first_contracts_2_months": "1",
		// 4.1: G1, G2 (twice), G3 in 2020: 3 people; G1 151 and G2 182 days ended in 2020:
		// (151 + 182) / 2 = 166.5.
		"4.1.people_accompanied": "3", "4.1.mean_duration_days": "166.5",
		// 1.1: diagnostics of P1 and P2 in 2020 (P3's was in 2019); on 31 December only P2 is
		// open; P1 and P3 ended in 2020.
		"1.1.diagnostics": "2", "1.1.active": "1", "1.1.exits": "2",
	}, all)

	// 47-AGEN1 only: A, D, E in 4.2; I1 in 4.3; G1, G2 in 4.1; P1, P3 in 1.1.
	assert.Equal(t, map[string]string{
		"4.2.first_appointments": "2", "4.2.first_appointments_2_weeks": "2",
		"4.2.first_contracts": "2", "4.2.first_contracts_2_months": "1",
		"4.3.first_appointments": "1", "4.3.first_appointments_2_weeks": "1",
		"4.3.first_contracts": "1", "4.3.first_contracts_2_months": "1",
		"4.1.people_accompanied": "2", "4.1.mean_duration_days": "166.5",
		"1.1.diagnostics": "1", "1.1.active": "0", "1.1.exits": "2",
	}, y.values(t, 2020, "47-AGEN1"))

	// 2019: B (decided 2019-11-04, appointment 21 days later, no contract); G1 and G5 in 4.1,
	// G5 ended 2019-06-01 → 2019-12-20: 202 days; P3 diagnosed and open on 31 December.
	assert.Equal(t, map[string]string{
		"4.2.first_appointments": "1", "4.2.first_appointments_2_weeks": "0",
		"4.2.first_contracts": "0", "4.2.first_contracts_2_months": "0",
		"4.3.first_appointments": "0", "4.3.first_appointments_2_weeks": "0",
		"4.3.first_contracts": "0", "4.3.first_contracts_2_months": "0",
		"4.1.people_accompanied": "2", "4.1.mean_duration_days": "202",
		"1.1.diagnostics": "1", "1.1.active": "1", "1.1.exits": "0",
	}, y.values(t, 2019, ""))
}

func TestAccompanimentThresholdsAreData(t *testing.T) {
	y := newYear2020(t)
	for _, tt := range []struct {
		code   string
		params map[string]float64
		want   string
	}{
		{"4.2.first_appointments_2_weeks", map[string]float64{"threshold_days": 22}, "3"}, // C's 22 days count
		{"4.2.first_appointments_2_weeks", map[string]float64{"threshold_days": 13}, "0"}, // A's and D's 14 do not
		{"4.2.first_appointments_2_weeks", map[string]float64{}, "2"},                     // 14 by default
		{"4.2.first_contracts_2_months", map[string]float64{"threshold_days": 61}, "2"},   // D's 61 days count
		{"4.2.first_contracts_2_months", map[string]float64{}, "1"},                       // 60 by default
		{"4.3.first_contracts_2_months", map[string]float64{"threshold_days": 73}, "2"},   // I2's 73 days count
	} {
		_, err := y.indicators.Update(y.ctx, tt.code, services.AnyVersion, indicators.Input{Params: &tt.params})
		require.NoError(t, err)
		assert.Equal(t, tt.want, y.values(t, 2020, "")[tt.code], "%s %v", tt.code, tt.params)
	}
}

func TestExitsByReason(t *testing.T) {
	y := newYear2020(t)
	zero := func(counts map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for _, r := range enrolments.ExitReasons {
			out[r] = counts[r]
		}
		return out
	}
	for _, tt := range []struct {
		action string
		year   int
		total  int64
		by     map[string]int64
	}{
		// 4.2 in 2020: A (employment_permanent), B (training), D (moved, on 31 December).
		{"4.2", 2020, 3, map[string]int64{"employment_permanent": 1, "training": 1, "moved": 1}},
		{"4.1", 2020, 2, map[string]int64{"employment_fixed_term": 1, "reoriented": 1}},
		{"4.1", 2019, 1, map[string]int64{"other": 1}},
		{"4.3", 2020, 1, map[string]int64{"business_created": 1}},
		{"1.1", 2020, 2, map[string]int64{"civic_service": 1, "gave_up": 1}},
		{"6.2", 2020, 0, nil}, // a fiche without programmes: nothing, every reason at 0
	} {
		got, err := y.exits.Exits(y.ctx, tt.action, tt.year)
		require.NoError(t, err)
		assert.Equal(t, accompindicators.ExitCounts{Action: tt.action, Year: tt.year, Total: tt.total, ByReason: zero(tt.by)}, got, "%s %d", tt.action, tt.year)
	}
	_, err := y.exits.Exits(y.ctx, "9.9", 2020)
	assert.ErrorIs(t, err, services.ErrNotFound)
}

func TestScenarioAccruals(t *testing.T) {
	y := newYear2020(t)
	for _, tt := range []struct {
		action string
		months [12]string
		total  string
	}{{
		// JOB47 at 600 €/month, days covered ÷ days of the month, rounded per enrolment and month:
		// Jan: B 600.00. Feb: B 600 × 14/29 = 289.655… → 289.66 (2020 is a leap year).
		// Mar: A 600 × 16/31 = 309.677… → 309.68. Apr: A 600.00. May: A 600 × 10/31 = 193.548… → 193.55.
		// Jun–Sep: C 600.00. Oct: C 600 + D 600 × 22/31 = 425.806… → 425.81: 1025.81.
		// Nov: C 600 + D 600 = 1200.00. Dec: C 600 + D 600 (ends 31 Dec) + E 600 × 12/31 = 232.258… → 232.26: 1432.26.
		// Total: 600 + 289.66 + 309.68 + 600 + 193.55 + 4 × 600 + 1025.81 + 1200 + 1432.26 = 8050.96.
		action: "4.2",
		months: [12]string{"600.00", "289.66", "309.68", "600.00", "193.55", "600.00", "600.00", "600.00", "600.00", "1025.81", "1200.00", "1432.26"},
		total:  "8050.96",
	}, {
		// PAAJM: Jan: P1 600 × 26/31 = 503.225… → 503.23, its diagnostic 250, P3 600: 1353.23.
		// Feb, Mar: P1 600 + P3 600. Apr–Jun: P1 600. Jul: P1 600 × 5/31 = 96.774… → 96.77. Aug: 0.
		// Sep: P2 600 × 17/30 = 340.00 and its diagnostic 250: 590.00. Oct–Dec: P2 600.
		// Total: 1353.23 + 2 × 1200 + 3 × 600 + 96.77 + 590 + 3 × 600 = 8040.00.
		action: "1.1",
		months: [12]string{"1353.23", "1200.00", "1200.00", "600.00", "600.00", "600.00", "96.77", "0.00", "590.00", "600.00", "600.00", "600.00"},
		total:  "8040.00",
	}, {
		// Accompagnement global, 450 € in the month each enrolment starts: G2 in April, G3 and
		// G2's second enrolment in November (G1 started in 2019).
		action: "4.1",
		months: [12]string{"0.00", "0.00", "0.00", "450.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "900.00", "0.00"},
		total:  "1350.00",
	}, {
		// Independent workers: Feb: I1 first evaluation 160 + enrolment 258 = 418; Jun: I1
		// viability 150; Jul: I2 160 + 258 = 418. Total 986.
		action: "4.3",
		months: [12]string{"0.00", "418.00", "0.00", "0.00", "0.00", "150.00", "418.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
		total:  "986.00",
	}} {
		got, err := y.accruals.ForAction(y.ctx, tt.action, 2020, nil)
		require.NoError(t, err)
		assert.Equal(t, tt.months, accompanimenttest.Amounts(got), tt.action)
		assert.Equal(t, tt.total, got.Total.StringFixed(2), tt.action)
	}
}

func TestActiveFollowUpsOfTheCurrentYearAreToday(t *testing.T) {
	y := newYear2020(t)
	day := func(days int) string { return time.Now().AddDate(0, 0, days).Format(time.DateOnly) }
	for _, e := range []accompanimenttest.Enrolment{
		{StartedOn: day(-10)},
		{StartedOn: day(-20), EndedOn: day(-2), ExitReason: "other"},
		{StartedOn: day(3)},
	} {
		e.Programme, e.Organisation = y.paajm, y.org
		y.fx.Enrol(accompanimenttest.Journey{Territory: "47-AGEN1", Enrolment: e})
	}
	// Open today: P2 (since 2020-09-14) and the one started 10 days ago; not the one ended 2 days
	// ago nor the one starting in 3 days.
	current := time.Now().Year()
	assert.Equal(t, "2", y.values(t, current, "")[accompindicators.CodeActive])
	_, ok := y.values(t, current+1, "")[accompindicators.CodeActive]
	assert.False(t, ok, "a year not started has no active follow-ups yet")
}
