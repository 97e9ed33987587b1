package orientations

import (
	"slices"
	"strings"
	"time"

	"parcours/services"
)

// Routes of an orientation decision: towards employment (Pôle emploi), social and
// professional, or social accompaniment.
var Routes = []string{"professionnelle", "socio_professionnelle", "sociale"}

// Origins of a decision: an orientation platform session, an individual interview, or an
// administrative decision.
var Origins = []string{"platform", "individual", "administrative"}

// OriginPlatform is the origin of a decision taken at an orientation platform: it names the
// convocation.
const OriginPlatform = "platform"

// Input is an orientation decision to record. Route, OrganisationID, DecidedOn and Origin are
// required; ConvocationID is required when Origin is OriginPlatform. Dates are calendar dates
// at midnight UTC.
type Input struct {
	Route          *string
	OrganisationID *int64
	ReferentID     *int64
	DecidedOn      *time.Time
	NotifiedOn     *time.Time
	Origin         *string
	ConvocationID  *int64
}

// Validate checks the input's own rules, against today's date; those that need the database
// (the beneficiary's rights opening, the organisation, referent and convocation) are the
// service's.
func (in Input) Validate(bool) error {
	var v services.Validator
	in.check(&v, today(time.Now()))
	return v.Err()
}

// check records every broken rule of in that needs no database in v.
func (in Input) check(v *services.Validator, today time.Time) {
	oneOf := func(field string, value *string, among []string) {
		v.Check(value != nil, field, "is required")
		if value != nil {
			v.Check(slices.Contains(among, *value), field, "must be one of "+strings.Join(among, ", "))
		}
	}
	oneOf("route", in.Route, Routes)
	oneOf("origin", in.Origin, Origins)
	v.Check(in.OrganisationID != nil, "organisation_id", "is required")
	positive := func(field string, id *int64) {
		v.Check(id == nil || *id > 0, field, "must be a positive id")
	}
	positive("organisation_id", in.OrganisationID)
	positive("referent_id", in.ReferentID)
	positive("convocation_id", in.ConvocationID)
	v.Check(in.DecidedOn != nil, "decided_on", "is required")
	if in.DecidedOn != nil {
		v.Check(!in.DecidedOn.After(today), "decided_on", "must not be after today")
	}
	if in.NotifiedOn != nil {
		v.Check(!in.NotifiedOn.After(today), "notified_on", "must not be after today")
		v.Check(in.DecidedOn == nil || !in.NotifiedOn.Before(*in.DecidedOn), "notified_on", "must not be before decided_on")
	}
	if in.Origin != nil && *in.Origin == OriginPlatform {
		v.Check(in.ConvocationID != nil, "convocation_id", "is required when origin is platform")
	}
}

// today is the calendar date of now at midnight UTC, the bound of input dates.
func today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
