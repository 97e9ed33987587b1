package sessions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/organisations"
	"parcours/services/pii"
	"parcours/services/servicetest"
	"parcours/services/sessions"
	"parcours/services/territories"
)

// fixture is a database with two territories, two Pôle emploi sites and beneficiaries in
// Agen 1.
type fixture struct {
	t      *testing.T
	db     *gorm.DB
	svc    *sessions.Service
	admin  context.Context
	agen   int64 // Pôle emploi Agen
	nerac  int64 // Pôle emploi Nérac
	people []int64
}

func newFixture(t *testing.T, people int) *fixture {
	t.Helper()
	db := servicetest.NewDB(t)
	admin := servicetest.As(servicetest.Admin47)
	for _, code := range []string{"47-AGEN1", "47-NERAC"} {
		_, err := territories.New(db).Create(admin, territories.NewTerritory{Code: code, Name: code})
		require.NoError(t, err)
	}
	f := &fixture{t: t, db: db, svc: sessions.New(db), admin: admin}
	orgs := organisations.New(db)
	for _, o := range []struct {
		name string
		id   *int64
	}{{"Pôle emploi Agen", &f.agen}, {"Pôle emploi Nérac", &f.nerac}} {
		kind := "pole_emploi"
		created, err := orgs.Create(admin, organisations.Input{Name: &o.name, Kind: &kind})
		require.NoError(t, err)
		*o.id = created.ID
	}
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{5}, 32))
	require.NoError(t, err)
	people2 := beneficiaries.New(db, cipher)
	for i := range people {
		last, first, payer, number, territory := "NOM", "Prénom", "caf", fmt.Sprintf("88%05d", i), "47-AGEN1"
		birth, opened := date("1980-01-01"), date("2019-11-04")
		b, err := people2.Create(admin, beneficiaries.Input{LastName: &last, FirstName: &first, BirthDate: &birth, Payer: &payer,
			AllocataireNumber: &number, TerritoryCode: &territory, RightsOpenedOn: &opened})
		require.NoError(t, err)
		f.people = append(f.people, b.ID)
	}
	return f
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// session creates a session of territory at site starting at startsAt.
func (f *fixture) session(territory string, site int64, startsAt time.Time, capacity int) sessions.Session {
	f.t.Helper()
	pe, social := "Conseillère emploi", "Assistante sociale"
	s, err := f.svc.Create(f.admin, sessions.SessionInput{TerritoryCode: &territory, SiteOrganisationID: &site, StartsAt: &startsAt,
		Capacity: &capacity, EmploymentProfessional: &pe, SocialProfessional: &social})
	require.NoError(f.t, err)
	return s
}

func (f *fixture) convoke(ctx context.Context, sessionID, beneficiaryID int64, sentOn string) (sessions.Convocation, error) {
	d := date(sentOn)
	return f.svc.Convoke(ctx, sessionID, sessions.ConvocationInput{BeneficiaryID: &beneficiaryID, SentOn: &d})
}

func (f *fixture) count(table string) int64 {
	f.t.Helper()
	var n int64
	require.NoError(f.t, f.db.Table(table).Count(&n).Error)
	return n
}

// paris is an instant at hour:00 local time on day.
func paris(day string, hour int) time.Time {
	d := date(day)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, sessions.Local)
}

func agentOf(territories ...string) auth.Principal {
	return auth.Principal{Subject: "agent", Role: auth.RoleAgent, Departement: "47", Territories: territories}
}

func partnerOf(org int64) auth.Principal {
	return auth.Principal{Subject: "partner", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org, 10)}
}

func TestConvocationRules(t *testing.T) {
	f := newFixture(t, 4)
	future := time.Now().AddDate(0, 1, 0)
	sentBeforeFuture := time.Now().Format(time.DateOnly)
	full := f.session("47-AGEN1", f.agen, paris("2020-01-10", 9), 1)
	_, err := f.convoke(f.admin, full.ID, f.people[0], "2020-01-02")
	require.NoError(t, err)
	open := f.session("47-AGEN1", f.agen, future, 10)
	_, err = f.convoke(f.admin, open.ID, f.people[1], sentBeforeFuture)
	require.NoError(t, err)
	other := f.session("47-AGEN1", f.agen, future.AddDate(0, 0, 7), 10)
	nerac := f.session("47-NERAC", f.nerac, future, 10)

	tests := []struct {
		name        string
		as          auth.Principal
		session     int64
		beneficiary int64
		sentOn      string
		want        error
		field       string
	}{
		{"a full session", servicetest.Admin47, full.ID, f.people[2], "2020-01-02", services.ErrConflict, ""},
		{"already convoked to an open session", servicetest.Admin47, other.ID, f.people[1], sentBeforeFuture, services.ErrConflict, ""},
		{"twice to the same session", servicetest.Admin47, open.ID, f.people[1], sentBeforeFuture, services.ErrConflict, ""},
		{"sent after the session's date", servicetest.Admin47, full.ID, f.people[2], "2020-01-11", services.ErrValidation, "sent_on"},
		{"sent before the rSa", servicetest.Admin47, open.ID, f.people[2], "2009-05-31", services.ErrValidation, "sent_on"},
		{"a session of another territory", agentOf("47-AGEN1"), nerac.ID, f.people[2], sentBeforeFuture, services.ErrNotFound, ""},
		{"a beneficiary of another territory", agentOf("47-NERAC"), nerac.ID, f.people[2], sentBeforeFuture, services.ErrNotFound, ""},
		{"no such session", servicetest.Admin47, 999999, f.people[2], sentBeforeFuture, services.ErrNotFound, ""},
		{"no such beneficiary", servicetest.Admin47, open.ID, 999999, sentBeforeFuture, services.ErrNotFound, ""},
		{"a partner", partnerOf(f.agen), open.ID, f.people[2], sentBeforeFuture, services.ErrForbidden, ""},
		{"a manager", auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}, open.ID, f.people[2], sentBeforeFuture, services.ErrForbidden, ""},
	}
	convocations, audits := f.count("convocations"), f.count("audit_events")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.convoke(servicetest.As(tt.as), tt.session, tt.beneficiary, tt.sentOn)
			require.ErrorIs(t, err, tt.want)
			if tt.field != "" {
				var verr *services.ValidationError
				require.ErrorAs(t, err, &verr)
				assert.Equal(t, tt.field, verr.Fields[0].Field)
			}
			assert.Equal(t, convocations, f.count("convocations"), "a refused convocation writes nothing")
			assert.Equal(t, audits, f.count("audit_events"), "nor an audit row")
		})
	}

	c, err := f.convoke(servicetest.As(agentOf("47-AGEN1")), open.ID, f.people[2], sentBeforeFuture)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Version)
	assert.Nil(t, c.Attendance)
	got, err := f.svc.Get(f.admin, open.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Convoked)
}

// A convocation stays open until its attendance is known: at a past session whose attendance
// nobody recorded it still holds the person; once the session's attendance is recorded it
// does not.
func TestAnOpenConvocationCloses(t *testing.T) {
	f := newFixture(t, 2)
	past := f.session("47-AGEN1", f.agen, paris("2020-01-10", 9), 10)
	next := f.session("47-AGEN1", f.agen, paris("2020-02-07", 9), 10)
	a, err := f.convoke(f.admin, past.ID, f.people[0], "2020-01-02")
	require.NoError(t, err)
	b, err := f.convoke(f.admin, past.ID, f.people[1], "2020-01-02")
	require.NoError(t, err)

	_, err = f.convoke(f.admin, next.ID, f.people[0], "2020-01-20")
	assert.ErrorIs(t, err, services.ErrConflict, "nobody's attendance is recorded: the past session is still open")

	_, err = f.svc.RecordAttendance(f.admin, b.ID, b.Version, sessions.Present)
	require.NoError(t, err)
	_, err = f.convoke(f.admin, next.ID, f.people[0], "2020-01-20")
	assert.NoError(t, err, "the session's attendance is recorded: a missing one does not hold the person")
	_ = a
}

func TestCapacityHoldsUnderConcurrentConvocations(t *testing.T) {
	f := newFixture(t, 8)
	s := f.session("47-AGEN1", f.agen, paris("2020-01-10", 9), 3)
	var wg sync.WaitGroup
	errs := make([]error, len(f.people))
	for i, id := range f.people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.convoke(f.admin, s.ID, id, "2020-01-02")
		}()
	}
	wg.Wait()
	var ok, full int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, services.ErrConflict):
			full++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 3, ok)
	assert.Equal(t, 5, full)
	assert.Equal(t, int64(3), f.count("convocations"))
}

func TestAttendanceCatchUpAndFormalNoticeRules(t *testing.T) {
	f := newFixture(t, 6)
	past := f.session("47-AGEN1", f.agen, paris("2020-01-10", 9), 10)
	future := f.session("47-AGEN1", f.agen, time.Now().AddDate(0, 1, 0), 10)
	conv := make([]sessions.Convocation, 5)
	for i := range conv {
		var err error
		conv[i], err = f.convoke(f.admin, past.ID, f.people[i], "2020-01-02")
		require.NoError(t, err)
	}
	upcoming, err := f.convoke(f.admin, future.ID, f.people[5], time.Now().Format(time.DateOnly))
	require.NoError(t, err)
	attend := func(i int, attendance string) sessions.Convocation {
		c, err := f.svc.RecordAttendance(f.admin, conv[i].ID, services.AnyVersion, attendance)
		require.NoError(t, err)
		return c
	}
	present, excused, noShow, caughtUp := attend(0, sessions.Present), attend(1, sessions.Excused), attend(2, sessions.NoShow), attend(3, sessions.NoShow)
	yes := true
	caughtUpDate := date("2020-01-20")
	_, err = f.svc.CatchUp(f.admin, caughtUp.ID, sessions.CatchUpInput{Date: &caughtUpDate, Attended: &yes})
	require.NoError(t, err)
	noticed := attend(4, sessions.NoShow)
	notice, err := f.issue(noticed.ID, "2020-01-20", "2020-02-20")
	require.NoError(t, err)
	assert.Equal(t, noticed.BeneficiaryID, notice.BeneficiaryID)

	tests := []struct {
		name  string
		do    func() error
		want  error
		field string
	}{
		{"attendance before the session", func() error {
			_, err := f.svc.RecordAttendance(f.admin, upcoming.ID, upcoming.Version, sessions.Present)
			return err
		}, services.ErrConflict, ""},
		{"attendance at a stale version", func() error {
			_, err := f.svc.RecordAttendance(f.admin, present.ID, present.Version-1, sessions.Excused)
			return err
		}, services.ErrPreconditionFailed, ""},
		{"an unknown attendance", func() error {
			_, err := f.svc.RecordAttendance(f.admin, present.ID, present.Version, "late")
			return err
		}, services.ErrValidation, "attendance"},
		{"present after a catch-up", func() error {
			_, err := f.svc.RecordAttendance(f.admin, caughtUp.ID, services.AnyVersion, sessions.Present)
			return err
		}, services.ErrConflict, ""},
		{"excused after a formal notice", func() error {
			_, err := f.svc.RecordAttendance(f.admin, noticed.ID, services.AnyVersion, sessions.Excused)
			return err
		}, services.ErrConflict, ""},
		{"a catch-up after a presence", func() error { return f.catchUp(present.ID, "2020-01-20") }, services.ErrConflict, ""},
		{"a catch-up before any attendance", func() error { return f.catchUp(upcoming.ID, "2020-01-20") }, services.ErrConflict, ""},
		{"a catch-up before the session", func() error { return f.catchUp(noShow.ID, "2020-01-09") }, services.ErrValidation, "date"},
		{"a catch-up attended in the future", func() error {
			d := time.Now().AddDate(0, 0, 10)
			_, err := f.svc.CatchUp(f.admin, noShow.ID, sessions.CatchUpInput{Date: &d, Attended: &yes})
			return err
		}, services.ErrValidation, "attended"},
		{"a notice after an excused absence", func() error { _, err := f.issue(excused.ID, "2020-01-20", "2020-02-20"); return err }, services.ErrConflict, ""},
		{"a notice after a presence", func() error { _, err := f.issue(present.ID, "2020-01-20", "2020-02-20"); return err }, services.ErrConflict, ""},
		{"a notice after an attended catch-up", func() error { _, err := f.issue(caughtUp.ID, "2020-01-20", "2020-02-20"); return err }, services.ErrConflict, ""},
		{"a second notice", func() error { _, err := f.issue(noticed.ID, "2020-01-21", "2020-02-20"); return err }, services.ErrConflict, ""},
		{"a notice before the session", func() error { _, err := f.issue(noShow.ID, "2020-01-09", "2020-02-20"); return err }, services.ErrValidation, "issued_on"},
		{"a deadline before the notice", func() error { _, err := f.issue(noShow.ID, "2020-01-20", "2020-01-19"); return err }, services.ErrValidation, "response_deadline"},
		{"an outcome at a stale version", func() error {
			_, err := f.svc.UpdateFormalNotice(f.admin, notice.ID, notice.Version+1, "answered")
			return err
		}, services.ErrPreconditionFailed, ""},
		{"an unknown outcome", func() error {
			_, err := f.svc.UpdateFormalNotice(f.admin, notice.ID, notice.Version, "lost")
			return err
		}, services.ErrValidation, "outcome"},
		{"an outcome by a partner", func() error {
			_, err := f.svc.UpdateFormalNotice(servicetest.As(partnerOf(f.agen)), notice.ID, notice.Version, "answered")
			return err
		}, services.ErrForbidden, ""},
		{"attendance by an agent of another territory", func() error {
			_, err := f.svc.RecordAttendance(servicetest.As(agentOf("47-NERAC")), present.ID, services.AnyVersion, sessions.Present)
			return err
		}, services.ErrNotFound, ""},
		{"attendance by a partner of another site", func() error {
			_, err := f.svc.RecordAttendance(servicetest.As(partnerOf(f.nerac)), present.ID, services.AnyVersion, sessions.Present)
			return err
		}, services.ErrNotFound, ""},
	}
	before := f.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			require.ErrorIs(t, err, tt.want)
			if tt.field != "" {
				var verr *services.ValidationError
				require.ErrorAs(t, err, &verr)
				assert.Equal(t, tt.field, verr.Fields[0].Field)
			}
			assert.Equal(t, before, f.snapshot(), "a refused change writes nothing")
		})
	}

	c, err := f.svc.RecordAttendance(servicetest.As(partnerOf(f.agen)), excused.ID, excused.Version, sessions.NoShow)
	require.NoError(t, err, "the partner hosting the session records attendance")
	assert.Equal(t, excused.Version+1, c.Version)
	updated, err := f.svc.UpdateFormalNotice(f.admin, notice.ID, notice.Version, "sanction_proposed")
	require.NoError(t, err)
	assert.Equal(t, "sanction_proposed", *updated.Outcome)
	assert.Equal(t, 2, updated.Version)
}

func (f *fixture) issue(convocationID int64, issued, deadline string) (sessions.FormalNotice, error) {
	i, d := date(issued), date(deadline)
	return f.svc.IssueFormalNotice(f.admin, convocationID, sessions.FormalNoticeInput{IssuedOn: &i, ResponseDeadline: &d})
}

func (f *fixture) catchUp(convocationID int64, day string) error {
	d := date(day)
	_, err := f.svc.CatchUp(f.admin, convocationID, sessions.CatchUpInput{Date: &d})
	return err
}

// snapshot is what the tables of the platform and the audit trail hold.
func (f *fixture) snapshot() string {
	f.t.Helper()
	var out string
	require.NoError(f.t, f.db.Raw(`SELECT concat_ws('|',
		(SELECT string_agg(concat_ws(',', id, attendance, catch_up_on, catch_up_attended, version), ';' ORDER BY id) FROM convocations),
		(SELECT string_agg(concat_ws(',', id, outcome, version), ';' ORDER BY id) FROM formal_notices),
		(SELECT count(*) FROM audit_events))`).Row().Scan(&out))
	return out
}

func TestSummaryCountsInSQL(t *testing.T) {
	f := newFixture(t, 6)
	s := f.session("47-AGEN1", f.agen, paris("2020-01-10", 9), 10)
	outcomes := []string{sessions.Present, sessions.Present, sessions.Excused, sessions.NoShow, sessions.NoShow, ""}
	var conv []sessions.Convocation
	for i, o := range outcomes {
		c, err := f.convoke(f.admin, s.ID, f.people[i], "2020-01-02")
		require.NoError(t, err)
		if o != "" {
			c, err = f.svc.RecordAttendance(f.admin, c.ID, c.Version, o)
			require.NoError(t, err)
		}
		conv = append(conv, c)
	}
	yes, no := true, false
	for i, attended := range map[int]*bool{2: &yes, 3: &yes, 4: &no} {
		d := date("2020-01-17")
		_, err := f.svc.CatchUp(f.admin, conv[i].ID, sessions.CatchUpInput{Date: &d, Attended: attended})
		require.NoError(t, err)
	}
	_, err := f.issue(conv[4].ID, "2020-01-20", "2020-02-20")
	require.NoError(t, err)
	orient := func(i int, route string, current bool) {
		o := models.Orientation{Departement: "47", BeneficiaryID: f.people[i], Route: route, OrganisationID: f.agen,
			DecidedOn: date("2020-01-10"), Origin: "platform", ConvocationID: &conv[i].ID, Current: current}
		require.NoError(t, f.db.Omit("CreatedAt").Create(&o).Error)
	}
	orient(0, "professionnelle", false) // superseded: not counted
	orient(0, "sociale", true)
	orient(1, "professionnelle", true)

	got, err := f.svc.Summary(servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}), s.ID)
	require.NoError(t, err)
	assert.Equal(t, sessions.Summary{SessionID: s.ID, Convoked: 6, Present: 2, Excused: 1, NoShow: 2, CaughtUp: 2, FormalNotices: 1,
		OrientationsByRoute: map[string]int{"professionnelle": 1, "socio_professionnelle": 0, "sociale": 1}}, got)

	empty := f.session("47-AGEN1", f.agen, paris("2020-02-10", 9), 10)
	got, err = f.svc.Summary(f.admin, empty.ID)
	require.NoError(t, err)
	assert.Equal(t, sessions.Summary{SessionID: empty.ID,
		OrientationsByRoute: map[string]int{"professionnelle": 0, "socio_professionnelle": 0, "sociale": 0}}, got)

	_, err = f.svc.Summary(servicetest.As(agentOf("47-NERAC")), s.ID)
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = f.svc.Summary(servicetest.As(partnerOf(f.nerac)), s.ID)
	assert.ErrorIs(t, err, services.ErrNotFound)
}

func TestListScopesAndPaginates(t *testing.T) {
	f := newFixture(t, 0)
	var agen []int64
	for _, day := range []string{"2020-01-10", "2020-01-24", "2020-02-07"} {
		agen = append(agen, f.session("47-AGEN1", f.agen, paris(day, 9), 10).ID)
	}
	nerac := f.session("47-NERAC", f.nerac, paris("2020-01-17", 9), 10).ID

	ids := func(as auth.Principal, filter sessions.Filter) []int64 {
		t.Helper()
		var out []int64
		filter.Page.Limit = 2
		for {
			page, err := f.svc.List(servicetest.As(as), filter)
			require.NoError(t, err)
			for _, s := range page.Items {
				out = append(out, s.ID)
			}
			if page.Next == nil {
				return out
			}
			filter.Page.After = page.Next
		}
	}
	from, to := date("2020-01-17"), date("2020-01-24")
	manager := auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}
	assert.Equal(t, []int64{agen[0], nerac, agen[1], agen[2]}, ids(manager, sessions.Filter{}), "by start time")
	assert.Equal(t, agen, ids(agentOf("47-AGEN1"), sessions.Filter{}))
	assert.Equal(t, []int64{nerac}, ids(partnerOf(f.nerac), sessions.Filter{}))
	assert.Equal(t, []int64{nerac, agen[1]}, ids(servicetest.Admin47, sessions.Filter{From: &from, To: &to}), "dates inclusive")
	assert.Equal(t, []int64{agen[1]}, ids(servicetest.Admin47, sessions.Filter{Territory: "47-AGEN1", From: &from, To: &to}))
	assert.Empty(t, ids(auth.Principal{Subject: "x", Role: auth.RoleAdmin, Departement: "33"}, sessions.Filter{}))

	_, err := f.svc.Get(servicetest.As(agentOf("47-AGEN1")), nerac)
	assert.ErrorIs(t, err, services.ErrNotFound)
}

func TestCreateSessionRules(t *testing.T) {
	f := newFixture(t, 0)
	territory, other, unknown := "47-AGEN1", "47-NERAC", "47-NOWHERE"
	startsAt, capacity, zero := paris("2020-01-10", 9), 10, 0
	pe, social, blank := "Conseillère", "Assistante sociale", " "
	missingOrg := int64(999999)
	tests := []struct {
		name   string
		as     auth.Principal
		in     sessions.SessionInput
		want   error
		fields []string
	}{
		{"everything missing", servicetest.Admin47, sessions.SessionInput{}, services.ErrValidation,
			[]string{"territory_code", "site_organisation_id", "starts_at", "capacity", "employment_professional", "social_professional"}},
		{"zero capacity and blank professional", servicetest.Admin47, sessions.SessionInput{TerritoryCode: &territory, SiteOrganisationID: &f.agen,
			StartsAt: &startsAt, Capacity: &zero, EmploymentProfessional: &pe, SocialProfessional: &blank}, services.ErrValidation,
			[]string{"capacity", "social_professional"}},
		{"unknown territory and site", servicetest.Admin47, sessions.SessionInput{TerritoryCode: &unknown, SiteOrganisationID: &missingOrg,
			StartsAt: &startsAt, Capacity: &capacity, EmploymentProfessional: &pe, SocialProfessional: &social}, services.ErrValidation,
			[]string{"territory_code", "site_organisation_id"}},
		{"an agent in another territory", agentOf("47-AGEN1"), sessions.SessionInput{TerritoryCode: &other, SiteOrganisationID: &f.nerac,
			StartsAt: &startsAt, Capacity: &capacity, EmploymentProfessional: &pe, SocialProfessional: &social}, services.ErrForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Create(servicetest.As(tt.as), tt.in)
			require.ErrorIs(t, err, tt.want)
			var verr *services.ValidationError
			if errors.As(err, &verr) {
				var got []string
				for _, fe := range verr.Fields {
					got = append(got, fe.Field)
				}
				assert.Equal(t, tt.fields, got)
			}
			assert.Zero(t, f.count("orientation_sessions"))
		})
	}
	s, err := f.svc.Create(servicetest.As(agentOf("47-AGEN1")), sessions.SessionInput{TerritoryCode: &territory, SiteOrganisationID: &f.agen,
		StartsAt: &startsAt, Capacity: &capacity, EmploymentProfessional: &pe, SocialProfessional: &social})
	require.NoError(t, err)
	assert.True(t, s.StartsAt.Equal(startsAt))
	assert.Equal(t, "2020-01-10T08:00:00Z", s.StartsAt.UTC().Format(time.RFC3339))
}
