// Package accompanimenttest inserts accompaniment rows (orientation decisions, programmes with
// their unit costs, enrolments, costed events and contracts) straight into a test database, so
// that tests of accruals and accompaniment indicators can build a year of enrolments with
// known dates without going through the services that own those rows. People, territories
// and organisations come from pathwaytest, which it embeds.
package accompanimenttest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services/accruals"
	"parcours/services/orientations/pathwaytest"
)

// Fixture writes accompaniment rows of one département into DB, failing T on any error.
type Fixture struct {
	*pathwaytest.Fixture
}

// New returns a fixture for département departement.
func New(t testing.TB, db *gorm.DB, departement string) *Fixture {
	f := pathwaytest.New(t, db)
	f.Departement = departement
	return &Fixture{Fixture: f}
}

func (f *Fixture) create(row any) {
	f.T.Helper()
	if err := f.DB.Create(row).Error; err != nil {
		f.T.Fatalf("insert %T: %v", row, err)
	}
}

// optDate parses "2020-09-25"; "" is nil.
func (f *Fixture) optDate(s string) *time.Time {
	f.T.Helper()
	if s == "" {
		return nil
	}
	d := pathwaytest.Date(f.T, s)
	return &d
}

// Orientation inserts the current orientation decision of beneficiary to organisation org,
// decided on decidedOn and notified on notifiedOn ("" for not notified), superseding the
// person's current one, and returns its id.
func (f *Fixture) Orientation(beneficiary, org int64, decidedOn, notifiedOn string) int64 {
	f.T.Helper()
	decided := pathwaytest.Date(f.T, decidedOn)
	err := f.DB.Model(&models.Orientation{}).Where("beneficiary_id = ? AND current", beneficiary).
		Updates(map[string]any{"current": false, "superseded_on": decided}).Error
	if err != nil {
		f.T.Fatalf("supersede the orientation of %d: %v", beneficiary, err)
	}
	row := models.Orientation{Departement: f.Departement, BeneficiaryID: beneficiary, Route: "professionnelle",
		OrganisationID: org, DecidedOn: decided, Origin: "individual", Current: true}
	row.NotifiedOn = f.optDate(notifiedOn)
	f.create(&row)
	return row.ID
}

// Cost is a unit cost of a programme: basis per_event (with Event), per_month or
// per_enrolment, and an amount such as "600.00".
type Cost struct {
	Basis, Event, Amount string
}

// PerEvent costs amount for each enrolment event named event.
func PerEvent(event, amount string) Cost {
	return Cost{Basis: "per_event", Event: event, Amount: amount}
}

// PerMonth costs amount for each month of accompaniment, prorated by days.
func PerMonth(amount string) Cost { return Cost{Basis: "per_month", Amount: amount} }

// PerEnrolment costs amount once per enrolment.
func PerEnrolment(amount string) Cost { return Cost{Basis: "per_enrolment", Amount: amount} }

// Programme inserts programme code of fiche action with its unit costs and returns its id.
func (f *Fixture) Programme(code, action string, costs ...Cost) int64 {
	f.T.Helper()
	row := models.Programme{Departement: f.Departement, Code: code, Name: code, ActionCode: action, Version: 1}
	f.create(&row)
	for _, c := range costs {
		f.create(&models.ProgrammeUnitCost{ProgrammeID: row.ID, Basis: c.Basis, Event: c.Event, Amount: decimal.RequireFromString(c.Amount)})
	}
	return row.ID
}

// Enrolment describes an enrolment to insert; empty dates and a zero Orientation are NULL.
type Enrolment struct {
	Beneficiary, Programme, Organisation, Orientation  int64
	StartedOn, FirstAppointmentOn, EndedOn, ExitReason string
}

// Enrolment inserts e and returns its id.
func (f *Fixture) Enrolment(e Enrolment) int64 {
	f.T.Helper()
	row := models.Enrolment{Departement: f.Departement, BeneficiaryID: e.Beneficiary, ProgrammeID: e.Programme,
		OrganisationID: e.Organisation, StartedOn: pathwaytest.Date(f.T, e.StartedOn), Version: 1}
	if e.Orientation != 0 {
		row.OrientationID = &e.Orientation
	}
	row.FirstAppointmentOn = f.optDate(e.FirstAppointmentOn)
	row.EndedOn = f.optDate(e.EndedOn)
	if e.ExitReason != "" {
		row.ExitReason = &e.ExitReason
	}
	f.create(&row)
	return row.ID
}

// Event inserts the costed event of enrolment that occurred on on.
func (f *Fixture) Event(enrolment int64, event, on string) {
	f.T.Helper()
	f.create(&models.EnrolmentEvent{Departement: f.Departement, EnrolmentID: enrolment, Event: event, OccurredOn: pathwaytest.Date(f.T, on)})
}

// Contract inserts a contract of type typ ("cer", "ppae", "cer_ti") of beneficiary under
// enrolment, signed and starting on signedOn, for six months.
func (f *Fixture) Contract(enrolment, beneficiary int64, typ, signedOn string) {
	f.T.Helper()
	signed := pathwaytest.Date(f.T, signedOn)
	f.create(&models.Contract{Departement: f.Departement, EnrolmentID: enrolment, BeneficiaryID: beneficiary, Type: typ,
		SignedOn: signed, StartsOn: signed, EndsOn: signed.AddDate(0, 6, -1)})
}

// Journey is an enrolment with what leads to it: a new beneficiary of Territory when
// Enrolment.Beneficiary is zero, and an orientation decision to Enrolment.Organisation decided
// on DecidedOn (notified on NotifiedOn, "" for not notified) when DecidedOn is set.
type Journey struct {
	Enrolment
	Territory, DecidedOn, NotifiedOn string
}

// Enrol inserts j and returns the ids of its beneficiary and enrolment.
func (f *Fixture) Enrol(j Journey) (beneficiary, enrolment int64) {
	f.T.Helper()
	e := j.Enrolment
	if e.Beneficiary == 0 {
		e.Beneficiary = f.Beneficiary(pathwaytest.Person{Territory: j.Territory, RightsOpenedOn: "2019-01-02"})
	}
	if j.DecidedOn != "" {
		e.Orientation = f.Orientation(e.Beneficiary, e.Organisation, j.DecidedOn, j.NotifiedOn)
	}
	return e.Beneficiary, f.Enrolment(e)
}

// Amounts are the 12 monthly amounts of a, with two decimals.
func Amounts(a accruals.Accruals) [12]string {
	var out [12]string
	for i, m := range a.Months {
		out[i] = m.Amount.StringFixed(2)
	}
	return out
}
