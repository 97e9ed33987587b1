package beneficiaries_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/pii"
	"parcours/services/servicetest"
)

func ptr[T any](v T) *T { return &v }

func day(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

var (
	admin   = servicetest.Admin47
	agent   = auth.Principal{Subject: "cms-agen", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}
	nerac   = auth.Principal{Subject: "cms-nerac", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-NERAC"}}
	manager = auth.Principal{Subject: "dg", Role: auth.RoleManager, Departement: "47"}
)

func setup(t *testing.T) (*beneficiaries.Service, *gorm.DB) {
	t.Helper()
	db := servicetest.NewDB(t)
	for _, code := range []string{"47-AGEN1", "47-NERAC"} {
		require.NoError(t, db.Create(&models.Territory{Departement: "47", Code: code, Name: code, Version: 1}).Error)
	}
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	return beneficiaries.New(db, cipher), db
}

func julie() beneficiaries.Input {
	return beneficiaries.Input{
		LastName: ptr(" Martin "), FirstName: ptr("Julie"), BirthDate: day("1985-05-14"), Payer: ptr("CAF"),
		AllocataireNumber: ptr("1234567"), NIR: ptr("2 85 05 47 001 002 43"), TerritoryCode: ptr("47-AGEN1"),
		RightsOpenedOn: day("2020-09-01"), Phone: ptr("+33 6 12 34 56 78"), Email: ptr("julie.martin@example.fr"),
	}
}

func TestCreateStoresTheNIREncrypted(t *testing.T) {
	svc, db := setup(t)
	b, err := svc.Create(servicetest.As(agent), julie())
	require.NoError(t, err)
	assert.Equal(t, "Martin", b.LastName)
	assert.Equal(t, "caf", b.Payer)
	require.NotNil(t, b.NIR)
	assert.Equal(t, "285054700100243", *b.NIR)
	assert.Equal(t, "0612345678", *b.Phone)
	assert.Equal(t, 1, b.HouseholdSize)
	assert.True(t, b.SubjectToRightsAndDuties)
	assert.Equal(t, beneficiaries.StatusToOrient, b.Status)

	var stored models.Beneficiary
	require.NoError(t, db.First(&stored, b.ID).Error)
	assert.False(t, bytes.Contains(stored.NIRCiphertext, []byte("285054700100243")))
	assert.Len(t, stored.NIRHash, 32)

	var actions []string
	require.NoError(t, db.Table("audit_events").Where("resource = 'beneficiary'").Order("id").Pluck("action", &actions).Error)
	assert.Equal(t, []string{"create"}, actions, "one event: the answer is read in the create's transaction, not audited again")
}

func TestTheSamePersonTwiceIsAConflictNamingTheRecord(t *testing.T) {
	svc, _ := setup(t)
	ctx := servicetest.As(admin)
	first, err := svc.Create(ctx, julie())
	require.NoError(t, err)

	sameNumber := julie()
	sameNumber.NIR = nil
	_, err = svc.Create(ctx, sameNumber)
	var dup *services.DuplicateError
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, first.ID, dup.ExistingID)
	assert.ErrorIs(t, err, services.ErrConflict)

	sameNIR := julie()
	sameNIR.AllocataireNumber = ptr("7654321")
	_, err = svc.Create(ctx, sameNIR)
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, "same NIR", dup.Reason)
}

func TestInputRules(t *testing.T) {
	svc, db := setup(t)
	ctx := servicetest.As(admin)
	tests := []struct {
		name   string
		change func(*beneficiaries.Input)
		fields []string
	}{
		{"nothing", func(in *beneficiaries.Input) { *in = beneficiaries.Input{} }, []string{"last_name", "first_name", "birth_date", "payer", "allocataire_number", "territory_code", "rights_opened_on"}},
		{"bad NIR key", func(in *beneficiaries.Input) { in.NIR = ptr("285054700100244") }, []string{"nir"}},
		{"NIR of another birth year", func(in *beneficiaries.Input) { in.BirthDate = day("1986-05-14") }, []string{"nir"}},
		{"payer", func(in *beneficiaries.Input) { in.Payer = ptr("pole") }, []string{"payer"}},
		{"contact", func(in *beneficiaries.Input) { in.Phone, in.Email = ptr("12"), ptr("Julie <j@example.fr>") }, []string{"phone", "email"}},
		{"dates", func(in *beneficiaries.Input) {
			in.RightsOpenedOn, in.BirthDate, in.NIR = day("2008-01-01"), day("2999-01-01"), nil
		}, []string{"birth_date", "rights_opened_on"}},
		{"household", func(in *beneficiaries.Input) { in.HouseholdSize = ptr(0) }, []string{"household_size"}},
		{"unknown territory", func(in *beneficiaries.Input) { in.TerritoryCode = ptr("47-NOWHERE") }, []string{"territory_code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := julie()
			tt.change(&in)
			_, err := svc.Create(ctx, in)
			var verr *services.ValidationError
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, f := range verr.Fields {
				got = append(got, f.Field)
			}
			assert.ElementsMatch(t, tt.fields, got)
		})
	}
	var n int64
	require.NoError(t, db.Table("beneficiaries").Count(&n).Error)
	assert.Zero(t, n)
}

func TestAccessByRole(t *testing.T) {
	svc, _ := setup(t)
	b, err := svc.Create(servicetest.As(agent), julie())
	require.NoError(t, err)

	_, err = svc.Get(servicetest.As(nerac), b.ID)
	assert.ErrorIs(t, err, services.ErrNotFound, "another territory: 404, not 403")
	_, err = svc.Get(servicetest.As(manager), b.ID)
	assert.ErrorIs(t, err, services.ErrForbidden)
	_, err = svc.Get(servicetest.As(auth.Principal{Subject: "x", Role: auth.RoleAdmin, Departement: "33"}), b.ID)
	assert.ErrorIs(t, err, services.ErrNotFound)

	in := julie()
	in.AllocataireNumber, in.NIR = ptr("999"), nil
	_, err = svc.Create(servicetest.As(nerac), in)
	assert.ErrorIs(t, err, services.ErrForbidden, "an agent records people of its territories only")

	page, err := svc.List(servicetest.As(nerac), beneficiaries.Filter{Page: services.PageRequest{Limit: 10}})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
}

func TestUpdateAndVersion(t *testing.T) {
	svc, _ := setup(t)
	ctx := servicetest.As(agent)
	b, err := svc.Create(ctx, julie())
	require.NoError(t, err)

	changed, err := svc.Update(ctx, b.ID, 1, beneficiaries.Input{HouseholdSize: ptr(3), NIR: ptr(""), Email: ptr("")})
	require.NoError(t, err)
	assert.Equal(t, 2, changed.Version)
	assert.Equal(t, 3, changed.HouseholdSize)
	assert.Nil(t, changed.NIR, "cleared")
	assert.Nil(t, changed.Email)
	assert.Equal(t, "Julie", changed.FirstName)

	_, err = svc.Update(ctx, b.ID, 1, beneficiaries.Input{HouseholdSize: ptr(4)})
	assert.ErrorIs(t, err, services.ErrPreconditionFailed)
	_, err = svc.Update(ctx, b.ID, 2, beneficiaries.Input{TerritoryCode: ptr("47-NERAC")})
	assert.ErrorIs(t, err, services.ErrForbidden, "an agent cannot move someone out of its territories")
	_, err = svc.Update(servicetest.As(nerac), b.ID, services.AnyVersion, beneficiaries.Input{HouseholdSize: ptr(4)})
	assert.ErrorIs(t, err, services.ErrNotFound)
}

func TestListFiltersByStatusAndOverdue(t *testing.T) {
	svc, db := setup(t)
	ctx := servicetest.As(admin)
	ids := map[string]int64{}
	today := svc.Today()
	for i, name := range []string{"new", "old", "convoked", "oriented"} {
		in := julie()
		in.NIR = nil
		in.AllocataireNumber = ptr(strconv.Itoa(100 + i))
		in.LastName = ptr(name)
		opened := today.AddDate(0, 0, -10)
		if name != "new" {
			opened = today.AddDate(0, 0, -60)
		}
		in.RightsOpenedOn = &opened
		b, err := svc.Create(ctx, in)
		require.NoError(t, err)
		ids[name] = b.ID
	}
	org := models.Organisation{Departement: "47", Name: "Pôle emploi Agen", Kind: "pole_emploi", Version: 1}
	require.NoError(t, db.Create(&org).Error)
	session := models.OrientationSession{Departement: "47", TerritoryCode: "47-AGEN1", SiteOrganisationID: org.ID,
		StartsAt: today, Capacity: 10, EmploymentProfessional: "a", SocialProfessional: "b", Version: 1}
	require.NoError(t, db.Create(&session).Error)
	require.NoError(t, db.Create(&models.Convocation{Departement: "47", SessionID: session.ID, BeneficiaryID: ids["convoked"], SentOn: today, Version: 1}).Error)
	require.NoError(t, db.Create(&models.Orientation{Departement: "47", BeneficiaryID: ids["oriented"], Route: "sociale",
		OrganisationID: org.ID, DecidedOn: today, Origin: "individual", Current: true}).Error)

	names := func(f beneficiaries.Filter) []string {
		f.Page.Limit = 50
		page, err := svc.List(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, b := range page.Items {
			out = append(out, b.LastName)
		}
		return out
	}
	assert.Equal(t, []string{"new", "old"}, names(beneficiaries.Filter{Status: beneficiaries.StatusToOrient}))
	assert.Equal(t, []string{"convoked"}, names(beneficiaries.Filter{Status: beneficiaries.StatusConvoked}))
	assert.Equal(t, []string{"oriented"}, names(beneficiaries.Filter{Status: beneficiaries.StatusOriented}))
	assert.Equal(t, []string{"old", "convoked"}, names(beneficiaries.Filter{OverdueDays: ptr(30)}), "not oriented 30 days after rights opened")
	assert.Empty(t, names(beneficiaries.Filter{Territory: "47-NERAC"}))

	page, err := svc.List(ctx, beneficiaries.Filter{Page: services.PageRequest{Limit: 3}})
	require.NoError(t, err)
	require.Len(t, page.Items, 3)
	require.NotNil(t, page.Next)
	rest, err := svc.List(ctx, beneficiaries.Filter{Page: services.PageRequest{Limit: 3, After: page.Next}})
	require.NoError(t, err)
	assert.Len(t, rest.Items, 1)
	assert.Nil(t, rest.Next)

	_, err = svc.List(ctx, beneficiaries.Filter{Status: "lost", Page: services.PageRequest{Limit: 1}})
	assert.ErrorIs(t, err, services.ErrValidation)
}

// A partner's scope must hold whatever condition comes after it: asking for someone else's
// id answers 404, not another person's record.
func TestPartnerScopeBindsAsAWhole(t *testing.T) {
	svc, db := setup(t)
	ctx := servicetest.As(admin)
	seen, err := svc.Create(ctx, julie())
	require.NoError(t, err)
	other := julie()
	other.AllocataireNumber, other.NIR, other.LastName = ptr("999"), nil, ptr("Autre")
	hidden, err := svc.Create(ctx, other)
	require.NoError(t, err)

	org := models.Organisation{Departement: "47", Name: "Pôle emploi Agen", Kind: "pole_emploi", Version: 1}
	require.NoError(t, db.Create(&org).Error)
	session := models.OrientationSession{Departement: "47", TerritoryCode: "47-AGEN1", SiteOrganisationID: org.ID,
		StartsAt: *day("2020-09-15"), Capacity: 5, EmploymentProfessional: "a", SocialProfessional: "b", Version: 1}
	require.NoError(t, db.Create(&session).Error)
	require.NoError(t, db.Create(&models.Convocation{Departement: "47", SessionID: session.ID, BeneficiaryID: seen.ID,
		SentOn: *day("2020-09-05"), Version: 1}).Error)
	partner := servicetest.As(auth.Principal{Subject: "pe", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org.ID, 10)})

	got, err := svc.Get(partner, seen.ID)
	require.NoError(t, err)
	assert.Equal(t, seen.ID, got.ID)
	assert.Nil(t, got.NIR)
	_, err = svc.Get(partner, hidden.ID)
	assert.ErrorIs(t, err, services.ErrNotFound)
	page, err := svc.List(partner, beneficiaries.Filter{Status: beneficiaries.StatusOriented, Page: services.PageRequest{Limit: 10}})
	require.NoError(t, err)
	assert.Empty(t, page.Items, "the status filter applies within the partner's scope")
}

// A partner also sees the people enrolled with its organisation (DESIGN: "oriented or
// enrolled"), and still not the others.
func TestPartnerSeesItsEnrolledPeople(t *testing.T) {
	svc, db := setup(t)
	ctx := servicetest.As(admin)
	enrolled, err := svc.Create(ctx, julie())
	require.NoError(t, err)
	other := julie()
	other.AllocataireNumber, other.NIR = ptr("555"), nil
	hidden, err := svc.Create(ctx, other)
	require.NoError(t, err)

	org := models.Organisation{Departement: "47", Name: "PLIE de l'Agenais", Kind: "plie", Version: 1}
	require.NoError(t, db.Create(&org).Error)
	prog := models.Programme{Departement: "47", Code: "plie", Name: "PLIE", ActionCode: "6.2", Version: 1}
	require.NoError(t, db.Create(&prog).Error)
	require.NoError(t, db.Create(&models.Enrolment{Departement: "47", BeneficiaryID: enrolled.ID, ProgrammeID: prog.ID,
		OrganisationID: org.ID, StartedOn: *day("2020-10-01"), Version: 1}).Error)
	partner := servicetest.As(auth.Principal{Subject: "plie", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org.ID, 10)})

	got, err := svc.Get(partner, enrolled.ID)
	require.NoError(t, err)
	assert.Nil(t, got.NIR)
	_, err = svc.Get(partner, hidden.ID)
	assert.ErrorIs(t, err, services.ErrNotFound)
}

func TestGetAuditsEachReadItHandsOut(t *testing.T) {
	svc, db := setup(t)
	b, err := svc.Create(servicetest.As(agent), julie())
	require.NoError(t, err)
	reads := func() int64 {
		var n int64
		require.NoError(t, db.Table("audit_events").Where("action = 'read' AND resource = 'beneficiary' AND resource_id = ?", strconv.FormatInt(b.ID, 10)).Count(&n).Error)
		return n
	}

	both := auth.Principal{Subject: "cms-both", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-NERAC", "47-AGEN1"}}
	for i, p := range []auth.Principal{agent, both, {Subject: "cd47", Role: auth.RoleAdmin, Departement: "47"}} {
		got, err := svc.Get(servicetest.As(p), b.ID)
		require.NoError(t, err, p.Subject)
		assert.Equal(t, b, got, "the record as it was created")
		assert.Equal(t, int64(i+1), reads(), "one audit row per read")
	}
	for _, p := range []auth.Principal{nerac, {Subject: "client", Role: auth.RolePartner, Departement: "47", Organisation: "not-a-number"}} {
		_, err := svc.Get(servicetest.As(p), b.ID)
		assert.ErrorIs(t, err, services.ErrNotFound, p.Subject)
	}
	_, err = svc.Get(servicetest.As(agent), b.ID+1000)
	assert.ErrorIs(t, err, services.ErrNotFound)
	assert.Equal(t, int64(3), reads(), "a refused read writes nothing")
}
