package orientations_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/orientations"
	"parcours/services/orientations/pathwaytest"
)

type event struct {
	Date   string
	Type   string
	Detail map[string]any
}

func events(t *testing.T, tl orientations.Timeline) []event {
	t.Helper()
	out := make([]event, len(tl.Events))
	for i, e := range tl.Events {
		out[i] = event{Date: e.Date.Format(time.DateOnly), Type: e.Type}
		require.NoError(t, json.Unmarshal(e.Detail, &out[i].Detail), string(e.Detail))
	}
	return out
}

func TestTimelineWalksThePathwayInOrder(t *testing.T) {
	p := newPathway(t)
	person := p.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	// 22:30 UTC on 14 September is 00:30 on the 15th in Agen: the session's date is the 15th.
	session := p.fx.Session("47-AGEN1", p.pe, time.Date(2020, 9, 14, 22, 30, 0, 0, time.UTC))
	convocation := p.fx.Convocation(session, person, "2020-09-05", "no_show")
	p.fx.CatchUp(convocation, "2020-09-20", false)
	notice := p.fx.FormalNotice(convocation, person, "2020-09-22", "2020-10-02", "answered")
	first, err := p.svc.Decide(p.agent, person, orientations.Input{
		Route: ptr("professionnelle"), OrganisationID: ptr(p.pe), ReferentID: ptr(p.peReferent),
		DecidedOn: ptr(pathwaytest.Date(t, "2020-10-05")), NotifiedOn: ptr(pathwaytest.Date(t, "2020-10-07")),
		Origin: ptr("platform"), ConvocationID: ptr(convocation),
	})
	require.NoError(t, err)
	second, err := p.svc.Decide(p.agent, person, orientations.Input{
		Route: ptr("sociale"), OrganisationID: ptr(p.ccas), DecidedOn: ptr(pathwaytest.Date(t, "2020-11-02")), Origin: ptr("individual"),
	})
	require.NoError(t, err)

	tl, err := p.svc.Timeline(p.agent, person)
	require.NoError(t, err)
	assert.Equal(t, person, tl.BeneficiaryID)
	got := events(t, tl)
	var order []string
	for _, e := range got {
		order = append(order, e.Date+" "+e.Type)
	}
	assert.Equal(t, []string{
		"2020-09-01 rights_opened",
		"2020-09-05 convocation_sent",
		"2020-09-15 session",
		"2020-09-20 catch_up",
		"2020-09-22 formal_notice_issued",
		"2020-10-02 formal_notice_deadline",
		"2020-10-05 orientation_decided",
		"2020-10-07 orientation_notified",
		"2020-11-02 orientation_decided",
		"2020-11-02 orientation_superseded",
	}, order)
	require.Len(t, got, 10)
	assert.Equal(t, "2020-09-15", got[1].Detail["session_date"])
	assert.Equal(t, "no_show", got[2].Detail["attendance"])
	assert.Equal(t, "2020-09-14T22:30:00Z", got[2].Detail["starts_at"])
	assert.Equal(t, false, got[3].Detail["attended"])
	assert.Equal(t, "2020-10-02", got[4].Detail["response_deadline"])
	assert.EqualValues(t, notice, got[5].Detail["formal_notice_id"])
	assert.Equal(t, "answered", got[5].Detail["outcome"])
	assert.Equal(t, map[string]any{
		"orientation_id": float64(first.ID), "route": "professionnelle", "origin": "platform",
		"organisation_id": float64(p.pe), "organisation": "Pôle emploi Agen", "referent_id": float64(p.peReferent),
		"referent": "Marie Dupont", "convocation_id": float64(convocation), "current": false,
	}, got[6].Detail)
	assert.EqualValues(t, second.ID, got[8].Detail["orientation_id"])
	assert.Nil(t, got[8].Detail["referent"])
	assert.EqualValues(t, first.ID, got[9].Detail["orientation_id"])

	var reads int64
	require.NoError(t, p.db.Table("audit_events").Where("action = 'read' AND resource = 'beneficiary' AND resource_id = ?", itoa(person)).Count(&reads).Error)
	assert.Equal(t, int64(1), reads, "the timeline is a read of the beneficiary's record")

	_, err = p.svc.Timeline(p.stranger, person)
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = p.svc.Timeline(p.manager, person)
	assert.ErrorIs(t, err, services.ErrForbidden)
	_, err = p.svc.Timeline(p.partner(p.pe), person)
	assert.NoError(t, err, "convoked to its session")
}

func TestTimelineTakesMoreEventSources(t *testing.T) {
	p := newPathway(t)
	svc := p.svc.WithEventSources(orientations.EventSource{Type: "enrolment_started",
		SQL: `SELECT DATE '2020-09-01' AS event_date, b.id AS ref, jsonb_build_object('programme', 'ASID') AS detail
			FROM beneficiaries b WHERE b.id = @beneficiary AND b.departement = @departement`})
	tl, err := svc.Timeline(p.admin, p.other)
	require.NoError(t, err)
	got := events(t, tl)
	require.Len(t, got, 4)
	assert.Equal(t, []string{"rights_opened", "enrolment_started", "convocation_sent", "session"},
		[]string{got[0].Type, got[1].Type, got[2].Type, got[3].Type}, "same day: in the order of the sources")
	assert.Equal(t, "ASID", got[1].Detail["programme"])

	plain, err := p.svc.Timeline(p.admin, p.other)
	require.NoError(t, err)
	assert.Len(t, plain.Events, 3, "the original service is unchanged")

	assert.Panics(t, func() {
		p.svc.WithEventSources(orientations.EventSource{Type: "x'; DROP TABLE beneficiaries; --", SQL: "SELECT 1"})
	})
}
