// Package pathwaytest inserts pathway rows (territories, organisations, referents,
// beneficiaries, sessions, convocations, formal notices) straight into a test database, so
// that tests of orientation decisions, timelines and indicators can set up a case in a few
// lines without going through the services that own those rows.
package pathwaytest

import (
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
)

// Fixture writes rows of one département into DB, failing T on any error.
type Fixture struct {
	T           testing.TB
	DB          *gorm.DB
	Departement string
	serial      int
}

// New returns a fixture for département "47".
func New(t testing.TB, db *gorm.DB) *Fixture {
	return &Fixture{T: t, DB: db, Departement: "47"}
}

// Date parses "2020-09-25" as a calendar date at midnight UTC.
func Date(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}

func (f *Fixture) create(row any) {
	f.T.Helper()
	if err := f.DB.Create(row).Error; err != nil {
		f.T.Fatalf("insert %T: %v", row, err)
	}
}

// Territory makes sure territory code exists.
func (f *Fixture) Territory(code string) {
	f.T.Helper()
	row := models.Territory{Departement: f.Departement, Code: code, Name: code, Version: 1}
	if err := f.DB.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		f.T.Fatalf("insert territory %s: %v", code, err)
	}
}

// Organisation inserts an organisation of kind ("pole_emploi", "ccas"…) and returns its id.
func (f *Fixture) Organisation(name, kind string) int64 {
	f.T.Helper()
	row := models.Organisation{Departement: f.Departement, Name: name, Kind: kind, Version: 1}
	f.create(&row)
	return row.ID
}

// Referent inserts a referent of organisation org and returns its id.
func (f *Fixture) Referent(org int64, firstName, lastName string, active bool) int64 {
	f.T.Helper()
	row := models.Referent{Departement: f.Departement, OrganisationID: org, FirstName: firstName, LastName: lastName, Active: true, Version: 1}
	f.create(&row)
	if !active {
		if err := f.DB.Model(&row).Update("active", false).Error; err != nil {
			f.T.Fatalf("deactivate referent %d: %v", row.ID, err)
		}
	}
	return row.ID
}

// Person describes a beneficiary to insert; Subject nil means subject to rights and duties.
type Person struct {
	Territory      string
	RightsOpenedOn string
	Subject        *bool
}

// Beneficiary inserts a beneficiary (its territory must exist) and returns its id.
func (f *Fixture) Beneficiary(p Person) int64 {
	f.T.Helper()
	f.serial++
	row := models.Beneficiary{
		Departement: f.Departement, LastName: fmt.Sprintf("Nom%d", f.serial), FirstName: "Prénom",
		BirthDate: Date(f.T, "1985-05-14"), Payer: "caf", AllocataireNumber: fmt.Sprintf("T%07d", f.serial),
		TerritoryCode: p.Territory, HouseholdSize: 1, RightsOpenedOn: Date(f.T, p.RightsOpenedOn),
		SubjectToRightsAndDuties: true, Version: 1,
	}
	f.create(&row)
	if p.Subject != nil && !*p.Subject {
		if err := f.DB.Model(&row).Update("subject_to_rights_and_duties", false).Error; err != nil {
			f.T.Fatalf("update beneficiary %d: %v", row.ID, err)
		}
	}
	return row.ID
}

// Session inserts an orientation session at site organisation org starting at startsAt.
func (f *Fixture) Session(territory string, org int64, startsAt time.Time) int64 {
	f.T.Helper()
	row := models.OrientationSession{Departement: f.Departement, TerritoryCode: territory, SiteOrganisationID: org,
		StartsAt: startsAt, Capacity: 10, EmploymentProfessional: "Conseiller PE", SocialProfessional: "Travailleur social", Version: 1}
	f.create(&row)
	return row.ID
}

// Convocation inserts a convocation of beneficiary to session sent on sentOn; attendance ""
// leaves it unrecorded.
func (f *Fixture) Convocation(session, beneficiary int64, sentOn, attendance string) int64 {
	f.T.Helper()
	row := models.Convocation{Departement: f.Departement, SessionID: session, BeneficiaryID: beneficiary,
		SentOn: Date(f.T, sentOn), Version: 1}
	if attendance != "" {
		row.Attendance = &attendance
	}
	f.create(&row)
	return row.ID
}

// CatchUp records the catch-up appointment of convocation on date on, and whether it was
// attended.
func (f *Fixture) CatchUp(convocation int64, on string, attended bool) {
	f.T.Helper()
	if err := f.DB.Model(&models.Convocation{}).Where("id = ?", convocation).
		Updates(map[string]any{"catch_up_on": Date(f.T, on), "catch_up_attended": attended}).Error; err != nil {
		f.T.Fatalf("catch-up of convocation %d: %v", convocation, err)
	}
}

// FormalNotice inserts the formal notice of convocation; outcome "" leaves it unknown.
func (f *Fixture) FormalNotice(convocation, beneficiary int64, issuedOn, deadline, outcome string) int64 {
	f.T.Helper()
	row := models.FormalNotice{Departement: f.Departement, ConvocationID: convocation, BeneficiaryID: beneficiary,
		IssuedOn: Date(f.T, issuedOn), ResponseDeadline: Date(f.T, deadline), Version: 1}
	if outcome != "" {
		row.Outcome = &outcome
	}
	f.create(&row)
	return row.ID
}
