package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/api"
	"parcours/models"
	"parcours/services/clients"
	"parcours/services/orientations/pathwaytest"
)

// The "done when" of the partner API: a Pôle emploi agency's system, with only its client id
// and secret, gets a token, reads its people (never a NIR), records attendance at its
// platform, the orientation decision and a first appointment, retries a POST safely, and
// follows the change feed.
func TestPartnerEndToEnd(t *testing.T) {
	p := newPartnerAPI(t, nil)

	// What the département set up: the agency, its platform, a person convoked to it, another
	// person it has nothing to do with, a programme it provides, and its API client.
	fx := pathwaytest.New(t, p.db)
	pe := fx.Organisation("Pôle emploi Agen (partenaire)", "pole_emploi")
	referent := fx.Referent(pe, "Claire", "Dubois", true)
	rec := p.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries", as: agent47, body: julieJSON})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	person := decode[beneficiaryBody](t, rec).ID
	stranger := fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	session := fx.Session("47-AGEN1", pe, time.Date(2020, 9, 14, 7, 0, 0, 0, time.UTC))
	convocation := fx.Convocation(session, person, "2020-09-05", "")
	p.created("/api/v1/programmes", fmt.Sprintf(`{"code":"pe_partenaire","name":"Accompagnement Pôle emploi","action_code":"4.2",
		"organisation_ids":[%d],"unit_costs":[],"max_months":12,"max_renewals":0}`, pe))
	client := p.newClient(pe, clients.Scopes...)
	clientID, secret := client.ClientID, client.ClientSecret

	// From here on, the partner has only its client id and secret.
	rec = p.askToken("grant_type=client_credentials", clientID, secret)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	tok := decode[tokenBody](t, rec)
	assert.Equal(t, strings.Join(clients.Scopes, " "), tok.Scope)
	call := func(method, path, body string, headers ...string) *httptest.ResponseRecorder {
		return p.do(request{method: method, path: path, body: body, headers: withBearer(tok.AccessToken, headers...)})
	}

	// Its people: the person convoked to its platform, without a NIR; never the stranger.
	people := decode[listOf[beneficiaryBody]](t, call(http.MethodGet, "/api/v1/beneficiaries", ""))
	require.Len(t, people.Items, 1)
	assert.Equal(t, person, people.Items[0].ID)
	assert.Nil(t, people.Items[0].NIR, "a partner never sees a NIR")
	problem(t, call(http.MethodGet, "/api/v1/beneficiaries/"+strconv.FormatInt(stranger, 10), ""), http.StatusNotFound)

	// Attendance at its platform.
	convocations := decode[listOf[struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}]](t, call(http.MethodGet, fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations", session), ""))
	require.Len(t, convocations.Items, 1)
	assert.Equal(t, convocation, convocations.Items[0].ID)
	rec = call(http.MethodPatch, "/api/v1/convocations/"+strconv.FormatInt(convocation, 10), `{"attendance":"present"}`,
		"If-Match", strconv.Quote(strconv.Itoa(convocations.Items[0].Version)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// The orientation decision of the platform, sent twice (say the answer was lost): one
	// decision, the same answer.
	decision := fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,"referent_id":%d,"decided_on":"2020-09-14",
		"notified_on":"2020-09-15","origin":"platform","convocation_id":%d}`, pe, referent, convocation)
	orientationsPath := fmt.Sprintf("/api/v1/beneficiaries/%d/orientations", person)
	first := call(http.MethodPost, orientationsPath, decision, "Idempotency-Key", "decision-"+strconv.FormatInt(convocation, 10))
	require.Equal(t, http.StatusCreated, first.Code, first.Body.String())
	retry := call(http.MethodPost, orientationsPath, decision, "Idempotency-Key", "decision-"+strconv.FormatInt(convocation, 10))
	require.Equal(t, http.StatusCreated, retry.Code, retry.Body.String())
	assert.Equal(t, "true", retry.Header().Get(api.ReplayedHeader))
	assert.Equal(t, first.Body.String(), retry.Body.String())
	orientation := decode[orientationBody](t, first).ID
	var decisions int64
	require.NoError(t, p.db.Model(&models.Orientation{}).Where("beneficiary_id = ?", person).Count(&decisions).Error)
	assert.Equal(t, int64(1), decisions, "the retry wrote nothing")

	// Its oriented beneficiaries.
	oriented := decode[listOf[beneficiaryBody]](t, call(http.MethodGet, "/api/v1/beneficiaries?status=oriented", ""))
	require.Len(t, oriented.Items, 1)
	assert.Equal(t, person, oriented.Items[0].ID)
	assert.Equal(t, "oriented", oriented.Items[0].Status)
	assert.Nil(t, oriented.Items[0].NIR)

	// The CMS enrols the person in the agency's programme; the agency records the first
	// appointment and the PPAE, the latter sent twice.
	enrolment, _ := p.created("/api/v1/enrolments", fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":"pe_partenaire","organisation_id":%d,
		"referent_id":%d,"orientation_id":%d,"started_on":"2020-09-21"}`, person, pe, referent, orientation))
	rec = call(http.MethodGet, enrolmentPath(enrolment, ""), "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = call(http.MethodPatch, enrolmentPath(enrolment, ""), `{"first_appointment_on":"2020-09-28"}`, "If-Match", rec.Header().Get("ETag"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "2020-09-28", *decode[enrolmentBody](t, rec).FirstAppointmentOn)
	ppae := `{"type":"ppae","signed_on":"2020-09-28","starts_on":"2020-09-28","ends_on":"2021-03-27"}`
	var contract []int64
	for range 2 {
		rec = call(http.MethodPost, enrolmentPath(enrolment, "contracts"), ppae, "Idempotency-Key", "ppae-"+strconv.FormatInt(enrolment, 10))
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		contract = append(contract, decode[struct {
			ID int64 `json:"id"`
		}](t, rec).ID)
	}
	assert.Equal(t, contract[0], contract[1], "the retry answers the first contract")
	var contracts int64
	require.NoError(t, p.db.Model(&models.Contract{}).Where("enrolment_id = ?", enrolment).Count(&contracts).Error)
	assert.Equal(t, int64(1), contracts)

	// The pathway as the partner reads it, and the trail of what it did.
	timeline := call(http.MethodGet, fmt.Sprintf("/api/v1/beneficiaries/%d/timeline", person), "")
	require.Equal(t, http.StatusOK, timeline.Code, timeline.Body.String())
	for _, event := range []string{"first_appointment", "contract_signed"} {
		assert.Contains(t, timeline.Body.String(), `"`+event+`"`)
	}
	// The change feed of its organisation: every change above, oldest first, no name, no NIR;
	// polled again from its cursor, nothing until the next change, then exactly that one.
	type feedPage struct {
		Items []struct {
			EntityType string `json:"entity_type"`
			EntityID   int64  `json:"entity_id"`
			Action     string `json:"action"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	poll := func(after string) feedPage {
		rec := call(http.MethodGet, "/api/v1/events?after="+url.QueryEscape(after), "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "Martin")
		assert.NotContains(t, rec.Body.String(), "285054700100243")
		return decode[feedPage](t, rec)
	}
	changes := func(page feedPage) []string {
		var out []string
		for _, e := range page.Items {
			out = append(out, fmt.Sprintf("%s %d %s", e.EntityType, e.EntityID, e.Action))
		}
		return out
	}
	page := poll("")
	assert.Equal(t, []string{
		fmt.Sprintf("convocation %d updated", convocation), fmt.Sprintf("orientation %d created", orientation),
		fmt.Sprintf("enrolment %d created", enrolment), fmt.Sprintf("enrolment %d updated", enrolment),
		fmt.Sprintf("contract %d created", contract[0]),
	}, changes(page))
	require.NotNil(t, page.NextCursor)
	assert.Empty(t, poll(*page.NextCursor).Items)
	etag := call(http.MethodGet, enrolmentPath(enrolment, ""), "").Header().Get("ETag")
	rec = call(http.MethodPatch, enrolmentPath(enrolment, ""), `{"ended_on":"2020-12-31","exit_reason":"employment_permanent"}`, "If-Match", etag)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, []string{fmt.Sprintf("enrolment %d updated", enrolment)}, changes(poll(*page.NextCursor)))

	var writes []string
	require.NoError(t, p.db.Model(&models.AuditEvent{}).Where("actor = ? AND action NOT IN ('read')", "client:"+clientID).
		Order("id").Pluck("action || ' ' || resource", &writes).Error)
	assert.Equal(t, []string{"token_issued api_client", "update convocation", "create orientation", "update enrolment", "create contract",
		"update enrolment"}, writes,
		"one audit event per write, none for the replays")
}
