package orientations_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/orientations"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/servicetest"
)

func ptr[T any](v T) *T { return &v }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// pathway is a small case: one beneficiary convoked to a Pôle emploi session, another one
// convoked too, a CCAS, referents active and not.
type pathway struct {
	db                              *gorm.DB
	svc                             *orientations.Service
	fx                              *pathwaytest.Fixture
	person, other                   int64 // in 47-AGEN1, rights opened 2020-09-01
	pe, ccas, foreignOrg            int64
	peReferent, ccasReferent, gone  int64
	session                         int64
	convocation, otherConvocation   int64
	admin, agent, stranger, manager context.Context
}

func newPathway(t *testing.T) *pathway {
	t.Helper()
	p := newOrganisations(t)
	fx := p.fx
	p.person = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	p.other = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	p.session = fx.Session("47-AGEN1", p.pe, time.Date(2020, 9, 14, 7, 0, 0, 0, time.UTC))
	p.convocation = fx.Convocation(p.session, p.person, "2020-09-05", "present")
	p.otherConvocation = fx.Convocation(p.session, p.other, "2020-09-05", "present")
	gironde := pathwaytest.New(t, p.db)
	gironde.Departement = "33"
	p.foreignOrg = gironde.Organisation("Pôle emploi Bordeaux", "pole_emploi")
	return p
}

// newOrganisations is a database with two territories, a Pôle emploi agency and a CCAS with
// their referents, and nobody on the rSa yet.
func newOrganisations(t *testing.T) *pathway {
	t.Helper()
	db := servicetest.NewDB(t)
	fx := pathwaytest.New(t, db)
	fx.Territory("47-AGEN1")
	fx.Territory("47-NERAC")
	p := &pathway{db: db, svc: orientations.New(db), fx: fx}
	p.pe = fx.Organisation("Pôle emploi Agen", "pole_emploi")
	p.ccas = fx.Organisation("CCAS d'Agen", "ccas")
	p.peReferent = fx.Referent(p.pe, "Marie", "Dupont", true)
	p.ccasReferent = fx.Referent(p.ccas, "Paul", "Martin", true)
	p.gone = fx.Referent(p.pe, "Jean", "Parti", false)
	p.admin = servicetest.As(servicetest.Admin47)
	p.agent = servicetest.As(auth.Principal{Subject: "agent", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}})
	p.stranger = servicetest.As(auth.Principal{Subject: "agent-nerac", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-NERAC"}})
	p.manager = servicetest.As(auth.Principal{Subject: "manager", Role: auth.RoleManager, Departement: "47"})
	return p
}

func (p *pathway) partner(org int64) context.Context {
	return servicetest.As(auth.Principal{Subject: "api-client", Role: auth.RolePartner, Departement: "47", Organisation: itoa(org)})
}

// platform is a valid platform decision for p.person, to Pôle emploi with its referent.
func (p *pathway) platform(decidedOn string) orientations.Input {
	return orientations.Input{
		Route: ptr("professionnelle"), OrganisationID: ptr(p.pe), ReferentID: ptr(p.peReferent),
		DecidedOn: ptr(pathwaytest.Date(p.fx.T, decidedOn)), Origin: ptr("platform"), ConvocationID: ptr(p.convocation),
	}
}

func (p *pathway) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, p.db.Table(table).Count(&n).Error)
	return n
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

func TestDecisionRules(t *testing.T) {
	p := newPathway(t)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	tests := []struct {
		name   string
		change func(in *orientations.Input)
		fields []string
	}{
		{"nothing given", func(in *orientations.Input) { *in = orientations.Input{} },
			[]string{"route", "origin", "organisation_id", "decided_on"}},
		{"unknown route and origin", func(in *orientations.Input) { in.Route, in.Origin = ptr("emploi"), ptr("phone") },
			[]string{"route", "origin"}},
		{"ids not positive", func(in *orientations.Input) {
			in.OrganisationID, in.ReferentID, in.ConvocationID = ptr(int64(0)), ptr(int64(-1)), ptr(int64(0))
		},
			[]string{"organisation_id", "referent_id", "convocation_id"}},
		{"decided before the rights opened", func(in *orientations.Input) { in.DecidedOn = ptr(pathwaytest.Date(t, "2020-08-31")) },
			[]string{"decided_on"}},
		{"decided tomorrow", func(in *orientations.Input) { in.DecidedOn = ptr(pathwaytest.Date(t, tomorrow)) },
			[]string{"decided_on"}},
		{"notified before the decision", func(in *orientations.Input) { in.NotifiedOn = ptr(pathwaytest.Date(t, "2020-09-13")) },
			[]string{"notified_on"}},
		{"notified tomorrow", func(in *orientations.Input) { in.NotifiedOn = ptr(pathwaytest.Date(t, tomorrow)) },
			[]string{"notified_on"}},
		{"platform without convocation", func(in *orientations.Input) { in.ConvocationID = nil },
			[]string{"convocation_id"}},
		{"unknown organisation", func(in *orientations.Input) { in.OrganisationID, in.ReferentID = ptr(int64(999999)), nil },
			[]string{"organisation_id"}},
		{"organisation of another département", func(in *orientations.Input) { in.OrganisationID, in.ReferentID = ptr(p.foreignOrg), nil },
			[]string{"organisation_id"}},
		{"referent of another organisation", func(in *orientations.Input) { in.ReferentID = ptr(p.ccasReferent) },
			[]string{"referent_id"}},
		{"referent no longer active", func(in *orientations.Input) { in.ReferentID = ptr(p.gone) },
			[]string{"referent_id"}},
		{"unknown referent", func(in *orientations.Input) { in.ReferentID = ptr(int64(999999)) },
			[]string{"referent_id"}},
		{"convocation of another beneficiary", func(in *orientations.Input) { in.ConvocationID = ptr(p.otherConvocation) },
			[]string{"convocation_id"}},
		{"unknown convocation", func(in *orientations.Input) { in.ConvocationID = ptr(int64(999999)) },
			[]string{"convocation_id"}},
		{"several at once", func(in *orientations.Input) {
			in.DecidedOn, in.ReferentID, in.ConvocationID = ptr(pathwaytest.Date(t, "2020-01-01")), ptr(p.ccasReferent), ptr(p.otherConvocation)
		}, []string{"decided_on", "referent_id", "convocation_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orientationsBefore, auditBefore := p.count(t, "orientations"), p.count(t, "audit_events")
			in := p.platform("2020-09-14")
			tt.change(&in)
			_, err := p.svc.Decide(p.admin, p.person, in)
			assert.ElementsMatch(t, tt.fields, fieldsOf(t, err))
			assert.Equal(t, orientationsBefore, p.count(t, "orientations"), "a refused decision writes nothing")
			assert.Equal(t, auditBefore, p.count(t, "audit_events"))
		})
	}

	got, err := p.svc.Decide(p.admin, p.person, p.platform("2020-09-14"))
	require.NoError(t, err)
	assert.Equal(t, "Pôle emploi Agen", got.OrganisationName)
	assert.Equal(t, "Marie Dupont", *got.ReferentName)
	assert.True(t, got.Current)
	assert.Nil(t, got.SupersededOn)

	in := p.platform("2020-09-10")
	in.Route, in.OrganisationID, in.ReferentID = ptr("sociale"), ptr(p.ccas), nil
	_, err = p.svc.Decide(p.admin, p.person, in)
	assert.Equal(t, []string{"decided_on"}, fieldsOf(t, err), "not before the decision it supersedes")
}

func TestSupersessionKeepsHistoryAndMovesCurrent(t *testing.T) {
	p := newPathway(t)
	first, err := p.svc.Decide(p.agent, p.person, p.platform("2020-09-14"))
	require.NoError(t, err)
	second, err := p.svc.Decide(p.agent, p.person, orientations.Input{
		Route: ptr("sociale"), OrganisationID: ptr(p.ccas), ReferentID: ptr(p.ccasReferent),
		DecidedOn: ptr(pathwaytest.Date(t, "2020-11-02")), NotifiedOn: ptr(pathwaytest.Date(t, "2020-11-04")), Origin: ptr("individual"),
	})
	require.NoError(t, err)
	assert.True(t, second.Current)

	page, err := p.svc.History(p.agent, p.person, services.PageRequest{Limit: 50})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	assert.Nil(t, page.Next)
	assert.Equal(t, second.ID, page.Items[0].ID, "newest first")
	assert.True(t, page.Items[0].Current)
	assert.Equal(t, first.ID, page.Items[1].ID)
	assert.False(t, page.Items[1].Current)
	require.NotNil(t, page.Items[1].SupersededOn)
	assert.Equal(t, "2020-11-02", page.Items[1].SupersededOn.Format(time.DateOnly))
	assert.Equal(t, "professionnelle", page.Items[1].Route, "the superseded decision is kept as it was")

	one, err := p.svc.History(p.agent, p.person, services.PageRequest{Limit: 1})
	require.NoError(t, err)
	require.Len(t, one.Items, 1)
	require.NotNil(t, one.Next)
	rest, err := p.svc.History(p.agent, p.person, services.PageRequest{Limit: 1, After: one.Next})
	require.NoError(t, err)
	require.Len(t, rest.Items, 1)
	assert.Equal(t, first.ID, rest.Items[0].ID)
	assert.Nil(t, rest.Next)
	_, err = p.svc.History(p.agent, p.person, services.PageRequest{Limit: 1, After: []string{"x"}})
	assert.Equal(t, []string{"cursor"}, fieldsOf(t, err))

	var trail []string
	require.NoError(t, p.db.Table("audit_events").Where("resource IN ('orientation', 'beneficiary')").Order("id").
		Pluck("action || ' ' || resource || ' ' || resource_id", &trail).Error)
	assert.Equal(t, []string{
		"create orientation " + itoa(first.ID),
		"update orientation " + itoa(first.ID), "create orientation " + itoa(second.ID),
		"read beneficiary " + itoa(p.person), "read beneficiary " + itoa(p.person), "read beneficiary " + itoa(p.person),
	}, trail)
}

func TestConcurrentDecisionsLeaveOneCurrent(t *testing.T) {
	p := newPathway(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			in := p.platform("2020-09-14")
			if i%2 == 1 {
				in.Route, in.OrganisationID, in.ReferentID, in.ConvocationID, in.Origin = ptr("sociale"), ptr(p.ccas), nil, nil, ptr("individual")
			}
			_, errs[i] = p.svc.Decide(p.admin, p.person, in)
		})
	}
	wg.Wait()
	recorded := 0
	for _, err := range errs {
		if err == nil {
			recorded++
		} else {
			assert.ErrorIs(t, err, services.ErrConflict, "a lost race is a conflict, nothing else")
		}
	}
	var current, total int64
	require.NoError(t, p.db.Table("orientations").Where("beneficiary_id = ? AND current", p.person).Count(&current).Error)
	require.NoError(t, p.db.Table("orientations").Where("beneficiary_id = ?", p.person).Count(&total).Error)
	assert.Equal(t, int64(1), current)
	assert.Equal(t, int64(recorded), total)
	assert.Equal(t, n, recorded, "the beneficiary lock makes the decisions queue, not fail")
	var superseded int64
	require.NoError(t, p.db.Table("orientations").Where("beneficiary_id = ? AND NOT current AND superseded_on IS NOT NULL", p.person).Count(&superseded).Error)
	assert.Equal(t, int64(n-1), superseded)
}

func TestWhoMayDecide(t *testing.T) {
	p := newPathway(t)
	unconvoked := p.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	otherSite := p.fx.Organisation("Pôle emploi Villeneuve", "pole_emploi")
	otherSession := p.fx.Session("47-AGEN1", otherSite, time.Date(2020, 9, 15, 7, 0, 0, 0, time.UTC))
	elsewhere := p.fx.Convocation(otherSession, p.person, "2020-09-06", "present")
	unrelated := p.fx.Organisation("Association Insertion 47", "association")
	individual := orientations.Input{Route: ptr("sociale"), OrganisationID: ptr(p.ccas),
		DecidedOn: ptr(pathwaytest.Date(t, "2020-09-20")), Origin: ptr("individual")}
	withConvocation := func(id int64) orientations.Input {
		in := p.platform("2020-09-20")
		in.ConvocationID = &id
		return in
	}
	tests := []struct {
		name    string
		ctx     context.Context
		subject int64
		in      orientations.Input
		want    error
	}{
		{"admin", p.admin, p.person, individual, nil},
		{"agent of the territory", p.agent, p.person, individual, nil},
		{"agent of another territory", p.stranger, p.person, individual, services.ErrNotFound},
		{"admin of another département", servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), p.person, individual, services.ErrNotFound},
		{"manager", p.manager, p.person, individual, services.ErrForbidden},
		{"partner of the session's site", p.partner(p.pe), p.person, p.platform("2020-09-20"), nil},
		{"partner without a convocation", p.partner(p.pe), p.person, individual, services.ErrForbidden},
		{"partner with a convocation to another site", p.partner(p.pe), p.person, withConvocation(elsewhere), services.ErrForbidden},
		{"partner, unknown convocation", p.partner(p.pe), p.person, withConvocation(999999), services.ErrForbidden},
		{"partner of the other site", p.partner(otherSite), p.person, withConvocation(p.convocation), services.ErrForbidden},
		{"partner, beneficiary it may not see", p.partner(p.pe), unconvoked, individual, services.ErrNotFound},
		{"partner of an unrelated organisation", p.partner(unrelated), p.person, p.platform("2020-09-20"), services.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.svc.Decide(tt.ctx, tt.subject, tt.in)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			for _, other := range []error{services.ErrNotFound, services.ErrForbidden, services.ErrValidation} {
				if !errors.Is(tt.want, other) {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
	_, err := p.svc.History(p.manager, p.person, services.PageRequest{Limit: 10})
	assert.ErrorIs(t, err, services.ErrForbidden)
	_, err = p.svc.History(p.stranger, p.person, services.PageRequest{Limit: 10})
	assert.ErrorIs(t, err, services.ErrNotFound)
	page, err := p.svc.History(p.partner(p.ccas), p.person, services.PageRequest{Limit: 10})
	require.NoError(t, err, "oriented to the CCAS: its partner now sees the person")
	assert.Len(t, page.Items, 3)
}
