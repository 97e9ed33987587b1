// Package accompindicators computes the accompaniment indicators of the fiches actions from
// enrolments, in SQL, per département, year and optionally territory (the beneficiary's): the
// national delays of fiches 4.2 and 4.3 (first appointments within two weeks of the orientation
// decision, first contracts within two months of its notice), the people in accompagnement
// global (4.1) and their mean duration, the PAAJM diagnostic interviews and active follow-ups
// (1.1), and exits per fiche with their breakdown by reason.
package accompindicators

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services/indicators"
)

// The names, after "<fiche>.", of the delay indicators of each of DelayFiches.
const (
	// FirstAppointments counts the enrolments, in programmes of the fiche, whose orientation
	// was decided in the year and whose first appointment is set.
	FirstAppointments = "first_appointments"
	// FirstAppointmentsWithin counts, of those, the first appointments at most threshold_days
	// (DefaultAppointmentDays) after the orientation decision.
	FirstAppointmentsWithin = "first_appointments_2_weeks"
	// FirstContracts counts the beneficiaries of those enrolments with a contract (CER, CER for
	// an independent worker, or PPAE) signed under one of them.
	FirstContracts = "first_contracts"
	// FirstContractsWithin counts, of those, the people whose first such contract was signed
	// at most threshold_days (DefaultContractDays) after the notice of its enrolment's
	// orientation; an orientation without notice date is never within.
	FirstContractsWithin = "first_contracts_2_months"
	// Exits, registered for each of ExitFiches, counts the enrolments of the fiche ended in
	// the year; Service.Exits breaks them down by reason.
	Exits = "exits"
)

// The departmental indicators.
const (
	// CodePeopleAccompanied counts the distinct beneficiaries with an enrolment in a programme
	// of fiche 4.1 (accompagnement global) covering at least one day of the year.
	CodePeopleAccompanied = "4.1.people_accompanied"
	// CodeMeanDuration is the mean duration in days (ended_on − started_on) of the enrolments
	// of fiche 4.1 ended in the year, to the hundredth, half away from zero; null when none.
	CodeMeanDuration = "4.1.mean_duration_days"
	// CodeDiagnostics counts the DiagnosticInterview events of PAAJM (fiche 1.1) enrolments
	// that occurred in the year.
	CodeDiagnostics = "1.1.diagnostics"
	// CodeActive counts the PAAJM (fiche 1.1) enrolments open on 31 December of the year, or
	// today for the current year (started on or before that day, not ended before it); null
	// for a year not started yet.
	CodeActive = "1.1.active"
)

// Parameters and vocabulary.
const (
	// ThresholdParam is the parameter of the "within" indicators, in days.
	ThresholdParam = "threshold_days"
	// DefaultAppointmentDays applies to FirstAppointmentsWithin without ThresholdParam.
	DefaultAppointmentDays = 14
	// DefaultContractDays applies to FirstContractsWithin without ThresholdParam.
	DefaultContractDays = 60
	// DiagnosticInterview is the enrolment event of a PAAJM diagnostic interview.
	DiagnosticInterview = "diagnostic_interview"
)

// Fiches.
var (
	// DelayFiches are the fiches whose first appointments and first contracts are measured.
	DelayFiches = []string{"4.2", "4.3"}
	// ExitFiches are the fiches with accompaniment programmes, whose exits are counted:
	// PAAJM, accompagnement global, job seekers, independent workers, ASID and nurses.
	ExitFiches = []string{"1.1", "4.1", "4.2", "4.3", "6.2"}
)

// enrolmentsFrom joins the enrolments (e) to their programme (p) and beneficiary (b);
// inScope keeps those of the département, of the programmes of fiche @action and, when
// @territory is not empty, of the beneficiaries of that territory. decidedInYear keeps the
// orientations (o) decided in @year, endedInYear the enrolments ended in @year.
const (
	enrolmentsFrom = `enrolments e
	JOIN programmes p ON p.id = e.programme_id
	JOIN beneficiaries b ON b.id = e.beneficiary_id`
	inScope = `e.departement = @departement AND p.action_code = @action
	AND (@territory = '' OR b.territory_code = @territory)`
	decidedInYear = `o.decided_on BETWEEN make_date(@year, 1, 1) AND make_date(@year, 12, 31)`
	endedInYear   = `e.ended_on BETWEEN make_date(@year, 1, 1) AND make_date(@year, 12, 31)`
)

// appointmentsSQL counts the first appointments of the enrolments whose orientation was
// decided in the year, and those at most @threshold days after the decision.
const appointmentsSQL = `SELECT count(e.first_appointment_on) AS total,
	count(*) FILTER (WHERE e.first_appointment_on - o.decided_on <= CAST(@threshold AS numeric)) AS within
FROM ` + enrolmentsFrom + `
JOIN orientations o ON o.id = e.orientation_id
WHERE ` + inScope + ` AND ` + decidedInYear

// contractsSQL takes, for each beneficiary, the first contract signed under an enrolment
// whose orientation was decided in the year, and counts them and those signed at most
// @threshold days after that enrolment's orientation notice.
const contractsSQL = `WITH firsts AS (
	SELECT DISTINCT ON (e.beneficiary_id) c.signed_on - o.notified_on AS delay
	FROM ` + enrolmentsFrom + `
	JOIN orientations o ON o.id = e.orientation_id
	JOIN contracts c ON c.enrolment_id = e.id
	WHERE ` + inScope + ` AND ` + decidedInYear + `
	ORDER BY e.beneficiary_id, c.signed_on, c.id
)
SELECT count(*) AS total, count(*) FILTER (WHERE delay <= CAST(@threshold AS numeric)) AS within
FROM firsts`

// The single-figure indicators.
const (
	peopleAccompaniedSQL = `SELECT count(DISTINCT e.beneficiary_id) FROM ` + enrolmentsFrom + `
WHERE ` + inScope + ` AND e.started_on <= make_date(@year, 12, 31)
	AND (e.ended_on IS NULL OR e.ended_on >= make_date(@year, 1, 1))`
	meanDurationSQL = `SELECT round(avg(e.ended_on - e.started_on), 2) FROM ` + enrolmentsFrom + `
WHERE ` + inScope + ` AND ` + endedInYear
	diagnosticsSQL = `SELECT count(*) FROM ` + enrolmentsFrom + `
JOIN enrolment_events ev ON ev.enrolment_id = e.id
WHERE ` + inScope + ` AND ev.event = '` + DiagnosticInterview + `'
	AND ev.occurred_on BETWEEN make_date(@year, 1, 1) AND make_date(@year, 12, 31)`
	activeSQL = `SELECT CASE WHEN make_date(@year, 1, 1) > current_date THEN NULL ELSE count(*) END
FROM ` + enrolmentsFrom + `
CROSS JOIN (SELECT least(make_date(@year, 12, 31), current_date) AS day) AS on_day
WHERE ` + inScope + ` AND e.started_on <= on_day.day AND (e.ended_on IS NULL OR e.ended_on >= on_day.day)`
	exitsSQL = `SELECT count(*) FROM ` + enrolmentsFrom + `
WHERE ` + inScope + ` AND ` + endedInYear
)

// args are the named parameters of the queries above for q and fiche action.
func args(q indicators.Query, action string) map[string]any {
	return map[string]any{"departement": q.Departement, "year": q.Year, "territory": q.Territory, "action": action}
}

// pair is a count and how many of it fall within a threshold.
type pair struct {
	Total, Within int64
}

// pairFigure computes query (appointmentsSQL or contractsSQL) for fiche action with the
// indicator's threshold (def when it has none), and picks one of its two figures.
func pairFigure(query, action string, def float64, pick func(pair) int64) indicators.ComputeFunc {
	return func(ctx context.Context, db *gorm.DB, q indicators.Query) (decimal.NullDecimal, error) {
		threshold, ok := q.Params[ThresholdParam]
		if !ok {
			threshold = def
		}
		a := args(q, action)
		a["threshold"] = threshold
		var f pair
		if err := db.WithContext(ctx).Raw(query, a).Scan(&f).Error; err != nil {
			return decimal.NullDecimal{}, fmt.Errorf("count the first steps of fiche %s in %d: %w", action, q.Year, err)
		}
		return decimal.NewNullDecimal(decimal.NewFromInt(pick(f))), nil
	}
}

// scalar computes a one-value query for fiche action; NULL means nothing to measure.
func scalar(query, action string) indicators.ComputeFunc {
	return func(ctx context.Context, db *gorm.DB, q indicators.Query) (decimal.NullDecimal, error) {
		var v decimal.NullDecimal
		if err := db.WithContext(ctx).Raw(query, args(q, action)).Row().Scan(&v); err != nil {
			return v, fmt.Errorf("compute an indicator of fiche %s in %d: %w", action, q.Year, err)
		}
		return v, nil
	}
}

func total(p pair) int64  { return p.Total }
func within(p pair) int64 { return p.Within }

// RegisterIndicators registers the accompaniment indicators in r.
func RegisterIndicators(r *indicators.Registry) {
	for _, fiche := range DelayFiches {
		r.Register(fiche+"."+FirstAppointments, pairFigure(appointmentsSQL, fiche, DefaultAppointmentDays, total))
		r.Register(fiche+"."+FirstAppointmentsWithin, pairFigure(appointmentsSQL, fiche, DefaultAppointmentDays, within))
		r.Register(fiche+"."+FirstContracts, pairFigure(contractsSQL, fiche, DefaultContractDays, total))
		r.Register(fiche+"."+FirstContractsWithin, pairFigure(contractsSQL, fiche, DefaultContractDays, within))
	}
	for _, fiche := range ExitFiches {
		r.Register(fiche+"."+Exits, scalar(exitsSQL, fiche))
	}
	r.Register(CodePeopleAccompanied, scalar(peopleAccompaniedSQL, "4.1"))
	r.Register(CodeMeanDuration, scalar(meanDurationSQL, "4.1"))
	r.Register(CodeDiagnostics, scalar(diagnosticsSQL, "1.1"))
	r.Register(CodeActive, scalar(activeSQL, "1.1"))
}
