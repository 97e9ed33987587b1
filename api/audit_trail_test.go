package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/api"
	"parcours/models"
	"parcours/services/auth"
	"parcours/services/clients"
)

// The audit trail through the API: every write and every read of a nominative record leaves,
// in the transaction of the request, exactly the audit events its rule states — naming the
// action, the resource and its id, the caller, its role and département and the request id —
// and a failed request leaves none.
//
// The rules, as the services apply them:
//   - a create: one "create" of the new record (id, or code for code-keyed reference data);
//   - a change (PATCH, or a POST that records on an existing record): one "update" of it;
//   - a read of one nominative record: one "read" of it; a beneficiary's orientations and
//     timeline are one "read" of the beneficiary, whatever the number of decisions or events;
//   - a list of nominative records: one "read" per record returned (services.AuditedPage);
//   - a flux import: one "create" per beneficiary created and one "update" per one changed;
//   - an orientation decision: one "create"; when it supersedes the current decision, also one
//     "update" of that decision;
//   - the change feed: one "read" of each feed_event handed out; the audit trail: one "read"
//     of audit_events naming the range of ids of the page;
//   - an API client: "create", "rotate" and "revoke" of the client; a token issued is one
//     "token_issued" of its client — and a token refused to a known client one "token_refused"
//     (the trail of an attack on its secret), so only a refusal naming no client leaves none.

// auditEvent is what a test expects of an audit row.
type auditEvent struct{ action, resource, id string }

// auditCase is one audited request that succeeds, the events it must leave, and a request on
// the same route that fails after authentication and must leave none.
type auditCase struct {
	route   string
	as      persona
	ok      func(f *matrixFixture) request
	events  func(f *matrixFixture, req request, rec *httptest.ResponseRecorder) []auditEvent
	failAs  persona
	fail    func(f *matrixFixture) request
	failure int // the status of the failed request
}

// Expected events, from the request and the response.

func createdAs(resource string) func(*matrixFixture, request, *httptest.ResponseRecorder) []auditEvent {
	return func(f *matrixFixture, _ request, rec *httptest.ResponseRecorder) []auditEvent {
		return []auditEvent{{"create", resource, responseKey(f, rec, "id")}}
	}
}

func createdByCode(resource string) func(*matrixFixture, request, *httptest.ResponseRecorder) []auditEvent {
	return func(f *matrixFixture, _ request, rec *httptest.ResponseRecorder) []auditEvent {
		return []auditEvent{{"create", resource, responseKey(f, rec, "code")}}
	}
}

// pathRecord is an action on the record the path names by its segment at index i ("" for the
// last one).
func pathRecord(action, resource string, segment int) func(*matrixFixture, request, *httptest.ResponseRecorder) []auditEvent {
	return func(_ *matrixFixture, req request, _ *httptest.ResponseRecorder) []auditEvent {
		path, _, _ := strings.Cut(req.path, "?")
		parts := strings.Split(path, "/")
		if segment < 0 {
			segment += len(parts)
		}
		return []auditEvent{{action, resource, parts[segment]}}
	}
}

// each is one read per item of a list.
func each(resource string) func(*matrixFixture, request, *httptest.ResponseRecorder) []auditEvent {
	return func(f *matrixFixture, _ request, rec *httptest.ResponseRecorder) []auditEvent {
		var list struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
		}
		require.NoError(f.h.t, json.Unmarshal(rec.Body.Bytes(), &list))
		require.NotEmpty(f.h.t, list.Items, "a list that returns records, so the rule is tested")
		out := make([]auditEvent, len(list.Items))
		for i, item := range list.Items {
			out[i] = auditEvent{"read", resource, strconv.FormatInt(item.ID, 10)}
		}
		return out
	}
}

// responseKey is a field of the JSON response, as the audit trail writes ids.
func responseKey(f *matrixFixture, rec *httptest.ResponseRecorder, field string) string {
	f.h.t.Helper()
	var body map[string]any
	require.NoError(f.h.t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	switch v := body[field].(type) {
	case float64:
		return strconv.FormatInt(int64(v), 10)
	case string:
		return v
	default:
		f.h.t.Fatalf("the response has no %s: %s", field, rec.Body.String())
		return ""
	}
}

func stale(r request) request {
	r.headers = map[string]string{"If-Match": `"999"`}
	return r
}

// auditCases lists every audited route; several cases may share one.
func auditCases() []auditCase {
	rows := matrixRows()
	ok := func(route string) func(*matrixFixture) request {
		for _, r := range rows {
			if r.route == route {
				return r.req
			}
		}
		panic("no matrix row for " + route)
	}
	staleOf := func(route string) func(*matrixFixture) request {
		return func(f *matrixFixture) request { return stale(ok(route)(f)) }
	}
	fixed := func(r request) func(*matrixFixture) request { return func(*matrixFixture) request { return r } }
	// changed is the matrix's PATCH on route as persona as, which updates resource once, and
	// the same PATCH with a stale If-Match: a 412.
	changed := func(route string, as persona, resource string) auditCase {
		return auditCase{route, as, ok(route), pathRecord("update", resource, -1), as, staleOf(route), http.StatusPreconditionFailed}
	}
	// outOfScope is the matrix's request on route as persona as, and the same request as
	// persona other, to whom its record is out of scope: a 404.
	outOfScope := func(route string, as persona, events func(*matrixFixture, request, *httptest.ResponseRecorder) []auditEvent, other persona) auditCase {
		return auditCase{route, as, ok(route), events, other, ok(route), http.StatusNotFound}
	}
	return []auditCase{
		// Reference data and budget (administrators).
		{"POST /api/v1/territories", adminHere, ok("POST /api/v1/territories"), createdByCode("territory"),
			adminHere, fixed(postReq("/api/v1/territories", `{"code":"47-AGEN1","name":"Agen bis"}`)), http.StatusConflict},
		changed("PATCH /api/v1/territories/{code}", adminHere, "territory"),
		{"POST /api/v1/organisations", adminHere, ok("POST /api/v1/organisations"), createdAs("organisation"),
			adminHere, fixed(postReq("/api/v1/organisations", `{"name":"Pôle emploi Agen","kind":"pole_emploi"}`)), http.StatusConflict},
		changed("PATCH /api/v1/organisations/{id}", adminHere, "organisation"),
		{"POST /api/v1/organisations/{id}/referents", adminHere, ok("POST /api/v1/organisations/{id}/referents"), createdAs("referent"),
			adminHere, fixed(postReq("/api/v1/organisations/999999/referents", `{"last_name":"Petit","first_name":"Léa"}`)), http.StatusNotFound},
		changed("PATCH /api/v1/referents/{id}", adminHere, "referent"),
		{"POST /api/v1/programmes", adminHere, ok("POST /api/v1/programmes"), createdByCode("programme"),
			adminHere, func(f *matrixFixture) request {
				return postReq("/api/v1/programmes", fmt.Sprintf(`{"code":"paajm","name":"Doublon","action_code":"1.1","organisation_ids":[%d]}`, f.pe))
			}, http.StatusConflict},
		changed("PATCH /api/v1/programmes/{code}", adminHere, "programme"),
		{"POST /api/v1/conventions/{year}/actions", adminHere, ok("POST /api/v1/conventions/{year}/actions"),
			func(f *matrixFixture, _ request, rec *httptest.ResponseRecorder) []auditEvent {
				return []auditEvent{{"create", "action", "2020/" + responseKey(f, rec, "code")}}
			},
			adminHere, fixed(postReq("/api/v1/conventions/2020/actions", `{"code":"4.4","title":"Doublon","category":"cil",
				"funding_line":"0304 50 19 19 10","budget":"1.00","state_share":"1.00","departement_share":"0.00"}`)), http.StatusConflict},
		{"POST /api/v1/conventions/{year}/funding-lines", adminHere, ok("POST /api/v1/conventions/{year}/funding-lines"), createdAs("funding_line"),
			adminHere, fixed(postReq("/api/v1/conventions/2020/funding-lines", `{"chorus":"0304 50 19 19 10","label":"Doublon","theme":"Thème","prenotified":"1.00"}`)),
			http.StatusConflict},
		changed("PATCH /api/v1/funding-lines/{id}", adminHere, "funding_line"),
		{"PATCH /api/v1/actions/{code}", adminHere, ok("PATCH /api/v1/actions/{code}"),
			func(*matrixFixture, request, *httptest.ResponseRecorder) []auditEvent {
				return []auditEvent{{"update", "action", "2020/4.4"}}
			},
			adminHere, staleOf("PATCH /api/v1/actions/{code}"), http.StatusPreconditionFailed},
		{"POST /api/v1/actions/{code}/budget-lines", adminHere, ok("POST /api/v1/actions/{code}/budget-lines"), createdAs("budget_line"),
			adminHere, fixed(postReq("/api/v1/actions/9.99/budget-lines?year=2020", `{"label":"x","amount":"1.00","state_share":"1.00","departement_share":"0.00"}`)),
			http.StatusNotFound},
		changed("PATCH /api/v1/budget-lines/{id}", adminHere, "budget_line"),
		{"POST /api/v1/indicators", adminHere, ok("POST /api/v1/indicators"), createdByCode("indicator"),
			adminHere, fixed(postReq("/api/v1/indicators", `{"code":"3.1.new_entrants","action_code":"3.1","scope":"national","label":"Doublon",
				"unit":"count","method":"declared","targets":[]}`)), http.StatusConflict},
		changed("PATCH /api/v1/indicators/{code}", adminHere, "indicator"),
		{"POST /api/v1/indicators/{code}/values", agentHere, ok("POST /api/v1/indicators/{code}/values"), createdAs("indicator_value"),
			agentHere, fixed(postReq("/api/v1/indicators/3.1.new_entrants/values", `{"period":"2020","territory":"47-AGEN1","value":1,"source":"s"}`)),
			http.StatusUnprocessableEntity},
		{"POST /api/v1/expenses", adminHere, ok("POST /api/v1/expenses"), createdAs("expense"),
			adminThere, ok("POST /api/v1/expenses"), http.StatusUnprocessableEntity},
		{"POST /api/v1/expenses/{id}/reverse", adminHere, ok("POST /api/v1/expenses/{id}/reverse"), createdAs("expense"),
			adminHere, func(f *matrixFixture) request {
				r := ok("POST /api/v1/expenses/{id}/reverse")(f)
				f.h.do(request{method: r.method, path: r.path, body: r.body, as: admin47}) // reversed once: the second time is a 409
				return r
			}, http.StatusConflict},

		// Beneficiaries and the orientation pathway.
		{"POST /api/v1/beneficiaries", agentHere, ok("POST /api/v1/beneficiaries"), createdAs("beneficiary"),
			agentHere, fixed(postReq("/api/v1/beneficiaries", `{"last_name":"Doublon","first_name":"Test","birth_date":"1990-01-01",
				"payer":"caf","allocataire_number":"9470001","territory_code":"47-AGEN1","rights_opened_on":"2020-09-01"}`)), http.StatusConflict},
		outOfScope("PATCH /api/v1/beneficiaries/{id}", agentHere, pathRecord("update", "beneficiary", -1), agentThere),
		{"POST /api/v1/imports/beneficiaries", adminHere, ok("POST /api/v1/imports/beneficiaries"),
			func(f *matrixFixture, req request, _ *httptest.ResponseRecorder) []auditEvent {
				allocataire := strings.Split(strings.Split(req.body, "\ncaf;")[1], ";")[0]
				return []auditEvent{{"create", "beneficiary", strconv.FormatInt(f.demoPerson(allocataire), 10)}}
			},
			adminHere, func(f *matrixFixture) request {
				body, contentType := multipartForm(f.h.t, "file", "payer;last_name\ncaf;Martin\n")
				return request{method: http.MethodPost, path: "/api/v1/imports/beneficiaries", body: body, headers: map[string]string{"Content-Type": contentType}}
			}, http.StatusUnprocessableEntity},
		{"POST /api/v1/beneficiaries/{id}/orientations", partnerHere, ok("POST /api/v1/beneficiaries/{id}/orientations"), createdAs("orientation"),
			partnerHere, func(f *matrixFixture) request {
				person, _ := f.newcomer("present") // no convocation named: a partner may not decide
				return postReq("/api/v1/beneficiaries/"+itoa(person)+"/orientations", fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,
					"decided_on":"2019-12-13","origin":"individual"}`, f.pe))
			}, http.StatusForbidden},
		{"POST /api/v1/beneficiaries/{id}/orientations", agentHere, func(f *matrixFixture) request {
			return postReq("/api/v1/beneficiaries/"+itoa(f.beneficiary)+"/orientations", fmt.Sprintf(`{"route":"socio_professionnelle",
				"organisation_id":%d,"decided_on":"2020-01-06","origin":"individual"}`, f.pe))
		}, func(f *matrixFixture, _ request, rec *httptest.ResponseRecorder) []auditEvent {
			return []auditEvent{{"create", "orientation", responseKey(f, rec, "id")}, {"update", "orientation", itoa(f.supersededOrientation())}}
		}, agentHere, func(f *matrixFixture) request {
			return postReq("/api/v1/beneficiaries/"+itoa(f.beneficiary)+"/orientations", fmt.Sprintf(`{"route":"sociale",
				"organisation_id":%d,"decided_on":"2019-12-01","origin":"individual"}`, f.pe))
		}, http.StatusUnprocessableEntity},
		{"POST /api/v1/orientation-sessions", agentHere, ok("POST /api/v1/orientation-sessions"), createdAs("orientation_session"),
			adminHere, func(f *matrixFixture) request {
				return postReq("/api/v1/orientation-sessions", fmt.Sprintf(`{"territory_code":"47-AGEN1","site_organisation_id":999999,
					"starts_at":"2020-10-05T09:00:00+02:00","capacity":12,"employment_professional":"x","social_professional":"y"}`))
			}, http.StatusUnprocessableEntity},
		{"POST /api/v1/orientation-sessions/{id}/convocations", agentHere, ok("POST /api/v1/orientation-sessions/{id}/convocations"), createdAs("convocation"),
			agentHere, func(f *matrixFixture) request {
				return postReq("/api/v1/orientation-sessions/"+itoa(f.platform)+"/convocations", `{"beneficiary_id":999999,"sent_on":"2020-09-11"}`)
			}, http.StatusNotFound},
		changed("PATCH /api/v1/convocations/{id}", partnerHere, "convocation"),
		{"POST /api/v1/convocations/{id}/catch-up", agentHere, ok("POST /api/v1/convocations/{id}/catch-up"), pathRecord("update", "convocation", -2),
			agentHere, func(f *matrixFixture) request {
				return postReq("/api/v1/convocations/"+itoa(f.convocation)+"/catch-up", `{"date":"2019-12-20","attended":true}`) // present: no catch-up
			}, http.StatusConflict},
		{"POST /api/v1/convocations/{id}/formal-notice", agentHere, ok("POST /api/v1/convocations/{id}/formal-notice"), createdAs("formal_notice"),
			agentHere, func(f *matrixFixture) request {
				return postReq("/api/v1/convocations/"+itoa(f.convocation)+"/formal-notice", `{"issued_on":"2019-12-20","response_deadline":"2020-01-20"}`)
			}, http.StatusConflict},
		changed("PATCH /api/v1/formal-notices/{id}", agentHere, "formal_notice"),

		// Accompaniment.
		{"POST /api/v1/enrolments", agentHere, ok("POST /api/v1/enrolments"), createdAs("enrolment"),
			agentHere, func(f *matrixFixture) request {
				return postReq("/api/v1/enrolments", fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"started_on":"2020-10-01"}`,
					f.beneficiary, matrixProgramme, f.pe)) // already enrolled
			}, http.StatusConflict},
		changed("PATCH /api/v1/enrolments/{id}", partnerHere, "enrolment"),
		{"POST /api/v1/enrolments/{id}/events", agentHere, ok("POST /api/v1/enrolments/{id}/events"), createdAs("enrolment_event"),
			agentHere, func(f *matrixFixture) request {
				return postReq(enrolmentPath(f.enrolment, "events"), `{"event":"viability_evaluation","occurred_on":"2020-02-03"}`)
			}, http.StatusUnprocessableEntity},
		{"POST /api/v1/enrolments/{id}/contracts", partnerHere, ok("POST /api/v1/enrolments/{id}/contracts"), createdAs("contract"),
			partnerHere, func(f *matrixFixture) request {
				return postReq(enrolmentPath(f.enrolment, "contracts"), `{"type":"ppae","signed_on":"2019-12-01","starts_on":"2019-12-01","ends_on":"2020-05-31"}`)
			}, http.StatusUnprocessableEntity},

		// Cumul rSa / activité.
		{"POST /api/v1/cumul/agreements", agentHere, ok("POST /api/v1/cumul/agreements"), createdAs("cumul_agreement"),
			agentHere, func(f *matrixFixture) request {
				var person int64
				require.NoError(f.h.t, f.h.db.Table("cumul_agreements").Where("id = ?", f.agreement).Pluck("beneficiary_id", &person).Error)
				return postReq("/api/v1/cumul/agreements", fmt.Sprintf(`{"beneficiary_id":%d,"employer":"EARL des Vergers","siret":"73282932000074",
					"sector":"agriculture","contract_type":"seasonal","starts_on":"2020-06-01","ends_on":"2020-07-31","hours":35}`, person))
			}, http.StatusConflict},
		changed("PATCH /api/v1/cumul/agreements/{id}", agentHere, "cumul_agreement"),
		{"POST /api/v1/cumul/agreements/{id}/allocations", agentHere, ok("POST /api/v1/cumul/agreements/{id}/allocations"), createdAs("cumul_allocation"),
			agentHere, func(f *matrixFixture) request {
				return postReq(allocationsPath(f.agreement), `{"month":"2020-06","wages":"1200.00","rsa_without_wages":"564.78"}`) // June is recorded
			}, http.StatusConflict},

		// Partner API clients and their tokens.
		{"POST /api/v1/api-clients", adminHere, ok("POST /api/v1/api-clients"), createdAs("api_client"),
			adminHere, fixed(postReq("/api/v1/api-clients", `{"name":"SI inconnu","organisation_id":999999,"scopes":["beneficiaries:read"]}`)),
			http.StatusUnprocessableEntity},
		{"POST /api/v1/api-clients/{id}/rotate", adminHere, ok("POST /api/v1/api-clients/{id}/rotate"), pathRecord("rotate", "api_client", -2),
			adminHere, func(f *matrixFixture) request {
				revoked := f.api.newClient(f.pe, clients.ScopeBeneficiariesRead)
				f.api.do(request{method: http.MethodPost, path: clientPath(revoked.ID, "revoke"), as: admin47})
				return request{method: http.MethodPost, path: clientPath(revoked.ID, "rotate")}
			}, http.StatusConflict},
		outOfScope("POST /api/v1/api-clients/{id}/revoke", adminHere, pathRecord("revoke", "api_client", -2), adminThere),
		{"POST /api/v1/oauth/token", anonymous, ok("POST /api/v1/oauth/token"),
			func(f *matrixFixture, req request, _ *httptest.ResponseRecorder) []auditEvent {
				clientID, _ := strings.CutPrefix(f.clientOf(req).Subject, clients.SubjectPrefix)
				var client int64
				require.NoError(f.h.t, f.h.db.Table("api_clients").Where("client_id = ?", clientID).Pluck("id", &client).Error)
				return []auditEvent{{"token_issued", "api_client", itoa(client)}}
			},
			anonymous, fixed(request{method: http.MethodPost, path: tokenEndpoint, body: credentialsForm("nobody", "secret"),
				headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), http.StatusUnauthorized},

		// The change feed and the audit trail.
		{"GET /api/v1/events", partnerHere, getReq("/api/v1/events"), each("feed_event"),
			partnerHere, getReq("/api/v1/events?after=bm90LWEtY3Vyc29y"), http.StatusBadRequest},
		{"GET /api/v1/audit-events", adminHere, getReq("/api/v1/audit-events?limit=5"),
			func(f *matrixFixture, _ request, rec *httptest.ResponseRecorder) []auditEvent {
				var list struct {
					Items []struct {
						ID int64 `json:"id"`
					} `json:"items"`
				}
				require.NoError(f.h.t, json.Unmarshal(rec.Body.Bytes(), &list))
				require.Len(f.h.t, list.Items, 5)
				return []auditEvent{{"read", "audit_events", fmt.Sprintf("%d-%d", list.Items[4].ID, list.Items[0].ID)}}
			},
			adminHere, getReq("/api/v1/audit-events?from=yesterday"), http.StatusBadRequest},

		// Reads of nominative records.
		{"GET /api/v1/beneficiaries", agentHere, getReq("/api/v1/beneficiaries?limit=3"), each("beneficiary"),
			agentHere, getReq("/api/v1/beneficiaries?cursor=bm90LWEtY3Vyc29y"), http.StatusBadRequest},
		{"GET /api/v1/beneficiaries", partnerHere, getReq("/api/v1/beneficiaries"), each("beneficiary"),
			partnerHere, getReq("/api/v1/beneficiaries?status=lost"), http.StatusUnprocessableEntity},
		outOfScope("GET /api/v1/beneficiaries/{id}", partnerHere, pathRecord("read", "beneficiary", -1), partnerThere),
		outOfScope("GET /api/v1/beneficiaries/{id}/orientations", agentHere, pathRecord("read", "beneficiary", -2), agentThere),
		outOfScope("GET /api/v1/beneficiaries/{id}/timeline", partnerHere, pathRecord("read", "beneficiary", -2), partnerThere),
		outOfScope("GET /api/v1/orientation-sessions/{id}/convocations", partnerHere, each("convocation"), agentThere),
		outOfScope("GET /api/v1/organisations/{id}/referents", partnerHere, each("referent"), partnerThere),
		outOfScope("GET /api/v1/referents/{id}", agentHere, pathRecord("read", "referent", -1), partnerThere),
		{"GET /api/v1/enrolments", partnerHere, getReq("/api/v1/enrolments"), each("enrolment"),
			partnerHere, getReq("/api/v1/enrolments?beneficiary=-1"), http.StatusBadRequest},
		outOfScope("GET /api/v1/enrolments/{id}", agentHere, pathRecord("read", "enrolment", -1), agentThere),
		outOfScope("GET /api/v1/enrolments/{id}/events", agentHere, each("enrolment_event"), partnerThere),
		outOfScope("GET /api/v1/enrolments/{id}/contracts", partnerHere, each("contract"), partnerThere),
		{"GET /api/v1/cumul/agreements", agentHere, getReq("/api/v1/cumul/agreements"), each("cumul_agreement"),
			agentHere, getReq("/api/v1/cumul/agreements?beneficiary=-4"), http.StatusBadRequest},
		outOfScope("GET /api/v1/cumul/agreements/{id}", agentHere, pathRecord("read", "cumul_agreement", -1), agentThere),
		outOfScope("GET /api/v1/cumul/agreements/{id}/allocations", adminHere, each("cumul_allocation"), adminThere),
	}
}

// unauditedReads are the GET routes of the API that name no one, so their reads are not in
// the trail: reference data, budgets, aggregates. A new GET route fails the test until it is
// audited above or listed here.
var unauditedReads = []string{
	"GET /api/v1/territories", "GET /api/v1/territories/{code}",
	"GET /api/v1/organisations", "GET /api/v1/organisations/{id}",
	"GET /api/v1/programmes", "GET /api/v1/programmes/{code}",
	"GET /api/v1/conventions/{year}/actions", "GET /api/v1/conventions/{year}/check",
	"GET /api/v1/funding-lines/{id}", "GET /api/v1/actions/{code}", "GET /api/v1/budget-lines/{id}",
	"GET /api/v1/actions/{code}/accruals", "GET /api/v1/actions/{code}/exits",
	"GET /api/v1/indicators/{code}", "GET /api/v1/reports/indicators", "GET /api/v1/reports/spend",
	"GET /api/v1/expenses", "GET /api/v1/cumul/envelope", "GET /api/v1/cumul/allocations/summary",
	// API clients are partners' systems, not people.
	"GET /api/v1/api-clients", "GET /api/v1/api-clients/{id}",
	// A session and its summary are counts and professionals' roles, no beneficiary.
	"GET /api/v1/orientation-sessions", "GET /api/v1/orientation-sessions/{id}", "GET /api/v1/orientation-sessions/{id}/summary",
}

func TestEveryWriteAndNominativeReadIsAuditedOnce(t *testing.T) {
	p := newPartnerAPI(t, nil)
	h, f := p.harness, newMatrixFixture(p)
	cases := auditCases()

	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.route] = true
	}
	for _, r := range h.router.Routes() {
		route := api.RouteKey(r.Method, r.Path)
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		switch r.Method {
		case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
			assert.True(t, covered[route], "write route %s has no audit case", route)
		case http.MethodGet:
			assert.True(t, covered[route] || slices.Contains(unauditedReads, route), "read route %s is neither audited nor listed as naming no one", route)
		}
	}

	for _, c := range cases {
		t.Run(fmt.Sprintf("%s as %s", c.route, c.as), func(t *testing.T) {
			req := c.ok(f)
			who := f.as[c.as]
			if c.as == anonymous {
				who = f.clientOf(req)
			}
			last := f.lastAuditID()
			rec := f.send(req, c.as)
			require.True(t, rec.Code >= 200 && rec.Code < 300, "%s %s → %d %s", req.method, req.path, rec.Code, rec.Body.String())
			got := f.auditSince(last)
			want := c.events(f, req, rec)
			assert.ElementsMatch(t, want, eventsOf(got), "the audit events of %s %s", req.method, req.path)
			for _, e := range got {
				assert.Equal(t, who.Subject, e.Actor, "actor")
				assert.Equal(t, string(who.Role), e.Role, "role")
				assert.Equal(t, who.Departement, e.Departement, "département")
				assert.Equal(t, rec.Header().Get(api.RequestIDHeader), e.RequestID, "request id")
			}

			failed := c.fail(f)
			last = f.lastAuditID()
			rec = f.send(failed, c.failAs)
			require.Equal(t, c.failure, rec.Code, rec.Body.String())
			assertRefusal(t, failed.path, rec)
			assert.Empty(t, f.auditSince(last), "a failed request (%d %s) leaves no audit event", rec.Code, rec.Body.String())
		})
	}
}

func (f *matrixFixture) lastAuditID() int64 {
	f.h.t.Helper()
	var last int64
	require.NoError(f.h.t, f.h.db.Raw(`SELECT coalesce(max(id), 0) FROM audit_events`).Scan(&last).Error)
	return last
}

func (f *matrixFixture) auditSince(id int64) []models.AuditEvent {
	f.h.t.Helper()
	var events []models.AuditEvent
	require.NoError(f.h.t, f.h.db.Where("id > ?", id).Order("id").Find(&events).Error)
	return events
}

func eventsOf(rows []models.AuditEvent) []auditEvent {
	out := make([]auditEvent, len(rows))
	for i, r := range rows {
		out[i] = auditEvent{r.Action, r.Resource, r.ResourceID}
	}
	return out
}

// clientOf is who a request to the token endpoint authenticates as: the API client whose
// credentials its form carries, a partner of the fixture's département.
func (f *matrixFixture) clientOf(req request) auth.Principal {
	f.h.t.Helper()
	form, err := url.ParseQuery(req.body)
	require.NoError(f.h.t, err)
	return auth.Principal{Subject: clients.SubjectPrefix + form.Get("client_id"), Role: auth.RolePartner, Departement: "47"}
}

// supersededOrientation is the last decision of the fixture's person that a newer one
// superseded.
func (f *matrixFixture) supersededOrientation() int64 {
	f.h.t.Helper()
	var ids []int64
	require.NoError(f.h.t, f.h.db.Table("orientations").Where("beneficiary_id = ? AND NOT current", f.beneficiary).
		Order("id DESC").Limit(1).Pluck("id", &ids).Error)
	require.Len(f.h.t, ids, 1)
	return ids[0]
}
