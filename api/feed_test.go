package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services/auth"
	"parcours/services/demo"
)

// changeEvent is an event of GET /api/v1/events.
type changeEvent struct {
	ID             int64          `json:"id"`
	Cursor         string         `json:"cursor"`
	EntityType     string         `json:"entity_type"`
	EntityID       int64          `json:"entity_id"`
	Action         string         `json:"action"`
	BeneficiaryID  int64          `json:"beneficiary_id"`
	OrganisationID int64          `json:"organisation_id"`
	TerritoryCode  string         `json:"territory_code"`
	OccurredAt     time.Time      `json:"occurred_at"`
	Payload        map[string]any `json:"payload"`
}

// feed reads the change feed as as with query, expecting a 200.
func (h *harness) feed(as auth.Principal, query string) listOf[changeEvent] {
	h.t.Helper()
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/events" + query, as: as})
	require.Equal(h.t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[listOf[changeEvent]](h.t, rec)
}

func eventIDs(events []changeEvent) []int64 {
	ids := []int64{}
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// The demo platform was written through the services: its convocations and attendances are
// in the feed, for the Pôle emploi Agen partner, the Agen 1 agent and the administrator only;
// a new decision adds its event; pages follow the cursor.
func TestChangeFeed(t *testing.T) {
	h := newHarness(t)
	poleEmploi, cms := h.organisationID(demo.PoleEmploiAgen), h.organisationID(demo.CMSAgen1)

	all := h.feed(admin47, "?limit=500")
	byKind := map[string]int{}
	for _, e := range all.Items {
		byKind[e.EntityType+" "+e.Action]++
		assert.Equal(t, poleEmploi, e.OrganisationID, "the session's site")
		assert.Equal(t, "47-AGEN1", e.TerritoryCode)
		assert.Equal(t, float64(e.EntityID), e.Payload["id"])
		assert.Equal(t, float64(e.BeneficiaryID), e.Payload["beneficiary_id"])
		assert.NotContains(t, e.Payload, "nir")
	}
	assert.Equal(t, map[string]int{"convocation created": 10, "convocation updated": 12}, byKind,
		"10 convocations, 10 attendances and 2 catch-ups")
	require.NotNil(t, all.NextCursor)
	last := *all.NextCursor
	assert.Equal(t, all.Items[len(all.Items)-1].Cursor, last)

	for name, tt := range map[string]struct {
		as   auth.Principal
		want []int64
	}{
		"partner of the site":       {partnerOf(poleEmploi), eventIDs(all.Items)},
		"agent of Agen 1":           {agent47, eventIDs(all.Items)},
		"partner of the CMS":        {partnerOf(cms), []int64{}},
		"agent of Nérac":            {agentNerac, []int64{}},
		"administrator of Gironde":  {admin33, []int64{}},
		"partner with a bad org":    {partner47, []int64{}},
		"partner of an unknown org": {partnerOf(999999), []int64{}},
		"agent of Agen 1 and Nérac": {auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47",
			Territories: []string{"47-NERAC", "47-AGEN1"}}, eventIDs(all.Items)},
	} {
		assert.Equal(t, tt.want, eventIDs(h.feed(tt.as, "?limit=500").Items), name)
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/events", as: manager47}), http.StatusForbidden)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/events"}), http.StatusUnauthorized)

	first := h.feed(partnerOf(poleEmploi), "?limit=5")
	second := h.feed(partnerOf(poleEmploi), "?limit=5&after="+*first.NextCursor)
	assert.Equal(t, eventIDs(all.Items[:10]), append(eventIDs(first.Items), eventIDs(second.Items)...))
	fromItem := h.feed(partnerOf(poleEmploi), "?limit=3&after="+all.Items[6].Cursor)
	assert.Equal(t, eventIDs(all.Items[7:10]), eventIDs(fromItem.Items), "an event's own cursor reads on from it")
	alias := h.feed(partnerOf(poleEmploi), "?limit=3&cursor="+all.Items[6].Cursor)
	assert.Equal(t, eventIDs(fromItem.Items), eventIDs(alias.Items), "?cursor= is ?after=")

	caughtUp := h.feed(admin47, "?after="+last)
	assert.Empty(t, caughtUp.Items)
	require.NotNil(t, caughtUp.NextCursor)
	assert.Equal(t, last, *caughtUp.NextCursor, "nothing new: poll again from the same place")

	var renard models.Beneficiary
	require.NoError(t, h.db.Where("allocataire_number = ?", "9470010").Take(&renard).Error)
	rec := h.do(request{method: http.MethodPost, path: fmt.Sprintf("/api/v1/beneficiaries/%d/orientations", renard.ID), as: admin47,
		body: fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":"2020-01-15","origin":"individual"}`, cms)})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	decided := decode[struct {
		ID int64 `json:"id"`
	}](t, rec)
	news := h.feed(admin47, "?after="+last)
	require.Len(t, news.Items, 1)
	e := news.Items[0]
	assert.Equal(t, []any{"orientation", "created", decided.ID, renard.ID, cms, "47-AGEN1"},
		[]any{e.EntityType, e.Action, e.EntityID, e.BeneficiaryID, e.OrganisationID, e.TerritoryCode})
	assert.Equal(t, map[string]any{"id": float64(decided.ID), "beneficiary_id": float64(renard.ID), "route": "sociale",
		"organisation_id": float64(cms), "referent_id": nil, "decided_on": "2020-01-15", "notified_on": nil, "origin": "individual",
		"convocation_id": nil, "current": true, "superseded_on": nil}, e.Payload)
	assert.WithinDuration(t, time.Now(), e.OccurredAt, time.Minute)
	assert.Equal(t, []int64{e.ID}, eventIDs(h.feed(partnerOf(cms), "").Items), "the CMS now has an event")
	assert.Empty(t, h.feed(partnerOf(poleEmploi), "?after="+last).Items, "not Pôle emploi's")

	for query, field := range map[string]string{
		"?after=%%%":  "",
		"?after=!!":   "after",
		"?limit=0":    "limit",
		"?cursor=!!":  "cursor",
		"?limit=9999": "limit",
	} {
		p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/events" + query, as: admin47}), http.StatusBadRequest)
		if field != "" {
			assert.Contains(t, fields(p), field, query)
		}
	}
	shortCursor := base64.RawURLEncoding.EncodeToString([]byte(`["12"]`))
	p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/events?after=" + shortCursor, as: admin47}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p), "after")
}

// auditRow is an event of GET /api/v1/audit-events.
type auditRow struct {
	ID         int64     `json:"id"`
	OccurredAt time.Time `json:"occurred_at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role"`
	Action     string    `json:"action"`
	Resource   string    `json:"resource"`
	ResourceID string    `json:"resource_id"`
	RequestID  string    `json:"request_id"`
}

func (h *harness) auditEvents(query string) listOf[auditRow] {
	h.t.Helper()
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/audit-events" + query, as: admin47,
		headers: map[string]string{"X-Request-Id": "audit-read-" + strconv.Itoa(len(query))}})
	require.Equal(h.t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[listOf[auditRow]](h.t, rec)
}

// Administrators read the trail newest first, filtered and page by page; each page read is
// itself audited; no one else reads it.
func TestAuditEventsRoute(t *testing.T) {
	h := newHarness(t)
	var total int64
	require.NoError(t, h.db.Table("audit_events").Where("departement = '47'").Count(&total).Error)
	newest := maxAuditID(t, h)

	first := h.auditEvents("?limit=4")
	require.Len(t, first.Items, 4)
	require.NotNil(t, first.NextCursor)
	second := h.auditEvents("?limit=4&cursor=" + *first.NextCursor)
	ids := eventsIDs(append(first.Items, second.Items...))
	for i := 1; i < len(ids); i++ {
		assert.Greater(t, ids[i-1], ids[i], "newest first")
	}
	assert.Equal(t, newest, ids[0])

	var reads []models.AuditEvent
	require.NoError(t, h.db.Where("resource = 'audit_events'").Order("id").Find(&reads).Error)
	require.Len(t, reads, 2, "one audited read per page")
	assert.Equal(t, []string{"admin", "admin", "read", fmt.Sprintf("%d-%d", first.Items[3].ID, first.Items[0].ID), "audit-read-8"},
		[]string{reads[0].Actor, reads[0].Role, reads[0].Action, reads[0].ResourceID, reads[0].RequestID})

	convocations := h.auditEvents("?resource=convocation&limit=500")
	require.NotEmpty(t, convocations.Items)
	for _, e := range convocations.Items {
		assert.Equal(t, "convocation", e.Resource)
	}
	one := convocations.Items[0]
	byRecord := h.auditEvents("?resource=convocation&resource_id=" + one.ResourceID)
	for _, e := range byRecord.Items {
		assert.Equal(t, one.ResourceID, e.ResourceID)
	}
	mine := h.auditEvents("?actor=admin&resource=audit_events")
	assert.Len(t, mine.Items, 4, "the trail of the four reads before this one")

	at := one.OccurredAt.Format(time.RFC3339Nano)
	assert.Empty(t, h.auditEvents("?from=2100-01-01T00:00:00Z").Items)
	assert.Empty(t, h.auditEvents("?to=2000-01-01T00:00:00Z").Items)
	window := h.auditEvents("?limit=500&resource=convocation&from=" + at + "&to=2100-01-01T00:00:00%2B01:00")
	assert.NotEmpty(t, window.Items)
	assert.LessOrEqual(t, int64(len(window.Items)), total)

	for _, as := range []auth.Principal{agent47, manager47, partnerOf(h.organisationID(demo.PoleEmploiAgen))} {
		problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/audit-events", as: as}), http.StatusForbidden)
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/audit-events"}), http.StatusUnauthorized)
	for query, field := range map[string]string{
		"?from=yesterday": "from",
		"?to=2020-01-01":  "to",
		"?from=2020-02-01T00:00:00Z&to=2020-01-01T00:00:00Z": "to",
		"?cursor=!!": "cursor",
	} {
		p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/audit-events" + query, as: admin47}), http.StatusBadRequest)
		assert.Contains(t, fields(p), field, query)
	}
}

func eventsIDs(rows []auditRow) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

func maxAuditID(t *testing.T, h *harness) int64 {
	t.Helper()
	var id int64
	require.NoError(t, h.db.Table("audit_events").Select("max(id)").Scan(&id).Error)
	return id
}
