package enrolments

import (
	"slices"
	"strings"
	"time"

	"parcours/services"
	"parcours/services/programmes"
)

// ExitReasons are why an enrolment ended.
var ExitReasons = []string{"employment_permanent", "employment_fixed_term", "civic_service", "training", "business_created",
	"gave_up", "reoriented", "left_rsa", "moved", "other"}

// Types of contract: the contrat d'engagement réciproque with the département, its version
// for independent workers, and Pôle emploi's projet personnalisé d'accès à l'emploi.
const (
	ContractCER   = "cer"
	ContractPPAE  = "ppae"
	ContractCERTI = "cer_ti"
)

// ContractTypes lists the types of contract.
var ContractTypes = []string{ContractCER, ContractPPAE, ContractCERTI}

// Input enrols a beneficiary in a programme. BeneficiaryID, ProgrammeCode, OrganisationID and
// StartedOn are required. Dates are calendar dates at midnight UTC.
type Input struct {
	BeneficiaryID  *int64
	ProgrammeCode  *string
	OrganisationID *int64
	ReferentID     *int64
	OrientationID  *int64
	StartedOn      *time.Time
}

// Validate checks the input's own rules against today's date; those that read the database
// are the service's.
func (in Input) Validate(bool) error {
	var v services.Validator
	in.check(&v, today(time.Now()))
	return v.Err()
}

func (in Input) check(v *services.Validator, today time.Time) {
	v.Check(in.BeneficiaryID != nil, "beneficiary_id", "is required")
	v.Check(in.ProgrammeCode != nil && strings.TrimSpace(*in.ProgrammeCode) != "", "programme_code", "is required")
	v.Check(in.OrganisationID != nil, "organisation_id", "is required")
	positive(v, "beneficiary_id", in.BeneficiaryID)
	positive(v, "organisation_id", in.OrganisationID)
	positive(v, "referent_id", in.ReferentID)
	positive(v, "orientation_id", in.OrientationID)
	v.Check(in.StartedOn != nil, "started_on", "is required")
	notAfter(v, "started_on", in.StartedOn, today)
}

// Change records on an enrolment its first appointment, its renewals, or its exit (ended_on
// and exit_reason go together); nil fields stay as they are.
type Change struct {
	FirstAppointmentOn *time.Time
	Renewals           *int
	EndedOn            *time.Time
	ExitReason         *string
}

// Validate checks the change's own rules against today's date.
func (ch Change) Validate(bool) error {
	var v services.Validator
	ch.check(&v, today(time.Now()))
	return v.Err()
}

func (ch Change) check(v *services.Validator, today time.Time) {
	v.Check(ch.Renewals == nil || *ch.Renewals >= 0, "renewals", "must not be negative")
	notAfter(v, "ended_on", ch.EndedOn, today)
	oneOf(v, "exit_reason", ch.ExitReason, ExitReasons)
}

// EventInput records a costed event of an enrolment (a diagnostic interview, an evaluation…):
// one of the per_event unit costs of its programme.
type EventInput struct {
	Event      *string
	OccurredOn *time.Time
}

// Validate checks the event's own rules against today's date.
func (in EventInput) Validate(bool) error {
	var v services.Validator
	in.check(&v, today(time.Now()))
	return v.Err()
}

func (in EventInput) check(v *services.Validator, today time.Time) {
	v.Check(in.Event != nil && programmes.EventPattern.MatchString(*in.Event), "event", "must name a costed event of the programme in snake_case, e.g. diagnostic_interview")
	v.Check(in.OccurredOn != nil, "occurred_on", "is required")
	notAfter(v, "occurred_on", in.OccurredOn, today)
}

// ContractInput is a signed contract; every field is required.
type ContractInput struct {
	Type     *string
	SignedOn *time.Time
	StartsOn *time.Time
	EndsOn   *time.Time
}

// Validate checks the contract's own rules against today's date.
func (in ContractInput) Validate(bool) error {
	var v services.Validator
	in.check(&v, today(time.Now()))
	return v.Err()
}

func (in ContractInput) check(v *services.Validator, today time.Time) {
	v.Check(in.Type != nil, "type", "is required")
	oneOf(v, "type", in.Type, ContractTypes)
	v.Check(in.SignedOn != nil, "signed_on", "is required")
	notAfter(v, "signed_on", in.SignedOn, today)
	v.Check(in.StartsOn != nil, "starts_on", "is required")
	v.Check(in.EndsOn != nil, "ends_on", "is required")
	if in.StartsOn != nil && in.EndsOn != nil {
		v.Check(!in.EndsOn.Before(*in.StartsOn), "ends_on", "must not be before starts_on")
	}
}

func positive(v *services.Validator, field string, id *int64) {
	v.Check(id == nil || *id > 0, field, "must be a positive id")
}

func notAfter(v *services.Validator, field string, d *time.Time, today time.Time) {
	v.Check(d == nil || !d.After(today), field, "must not be after today")
}

func oneOf(v *services.Validator, field string, value *string, among []string) {
	v.Check(value == nil || slices.Contains(among, *value), field, "must be one of "+strings.Join(among, ", "))
}

// today is the calendar date of now at midnight UTC, the bound of input dates.
func today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// addMonths is d plus n months, on the last day of the month when d's day is not in it (31
// January + 1 month is 29 February in a leap year).
func addMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(day, last), 0, 0, 0, 0, time.UTC)
}
