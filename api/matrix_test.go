package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/api"
	"parcours/services/auth"
	"parcours/services/clients"
	"parcours/services/demo"
	"parcours/services/orientations/pathwaytest"
)

// The authorization matrix: every route of the router × every kind of caller, with the status
// each must get (DESIGN.md §4, OWASP API1:2023 broken object-level authorization). Requests are
// realistic — demo data of 47-AGEN1 (the platform of 13 December 2019, its convocations and
// orientations, Pôle emploi Agen and its referent), minimal valid bodies — so that a 2xx means
// the caller got through, not that the handler failed early.

// persona is a kind of caller of the matrix.
type persona int

const (
	anonymous    persona = iota // no Authorization header
	adminHere                   // administrator of 47
	managerHere                 // manager of 47
	agentHere                   // agent of 47-AGEN1, where the demo people live
	agentThere                  // agent of 47-NERAC
	partnerHere                 // partner of Pôle emploi Agen, the demo platform's site
	partnerThere                // partner of Pôle emploi Marmande
	adminThere                  // administrator of another département (33)
	personaCount
)

// personaRoles are the roles of the personas (anonymous has none).
var personaRoles = [personaCount]auth.Role{"", auth.RoleAdmin, auth.RoleManager, auth.RoleAgent, auth.RoleAgent,
	auth.RolePartner, auth.RolePartner, auth.RoleAdmin}

var personaNames = [personaCount]string{"anonymous", "admin", "manager", "agent of the territory", "agent of another territory",
	"partner of the organisation", "partner of another organisation", "admin of another département"}

func (p persona) String() string { return personaNames[p] }

// Expected outcomes, one per persona in the order above: "2xx" (got through and, for a write,
// wrote), "empty" (200 with no items: a list of what the caller may see, and it may see none of
// the case's records), or an exact status.
const (
	publicRoute    = "2xx 2xx 2xx 2xx 2xx 2xx 2xx 2xx"
	adminWrite     = "401 2xx 403 403 403 403 403 404"
	budgetRead     = "401 2xx 2xx 2xx 2xx 403 403 404"
	aggregateRead  = "401 2xx 2xx 403 403 403 403 404"
	everyoneRead   = "401 2xx 2xx 2xx 2xx 2xx 2xx 404"
	everyoneList   = "401 2xx 2xx 2xx 2xx 2xx 2xx empty"
	caseRead       = "401 2xx 403 2xx 404 2xx 404 404" // a nominative record the partner shares
	caseList       = "401 2xx 403 2xx empty 2xx empty empty"
	caseWrite      = "401 2xx 403 2xx 404 403 403 404" // admins and agents of the person's territory
	partnerWrite   = "401 2xx 403 2xx 404 2xx 404 404" // … and the partner of the organisation
	cumulAccess    = "401 2xx 403 2xx 404 403 403 404"
	sessionRead    = "401 2xx 2xx 2xx 404 2xx 404 404" // a session names no one: managers read it
	referentRead   = "401 2xx 403 2xx 2xx 2xx 404 404" // partners read their own organisation's
	dashboardRoute = "401 2xx 2xx 403 403 403 403 404" // 33 has no convention for 2020
)

// matrixRow is one route: the request to send (built afresh for each persona, so a write that
// may happen once gets an object of its own) and the expected outcome per persona.
type matrixRow struct {
	route string // "METHOD /path/{param}" as api.RouteKey writes it
	want  string
	req   func(f *matrixFixture) request
}

// matrixFixture is the demo data the requests name, and a few records of the test's own.
type matrixFixture struct {
	h        *harness
	api      partnerAPI
	fx       *pathwaytest.Fixture
	seq      int
	as       [personaCount]auth.Principal // who each persona is
	bearer   [personaCount]string         // its token, when the API issued it (partners)
	snapshot string                       // the SQL that fingerprints every table

	pe, marmande             int64      // Pôle emploi Agen (the demo site), Pôle emploi Marmande
	session, platform        int64      // the demo platform; a platform of the test at Pôle emploi Agen
	beneficiary, convocation int64      // LAMBERT Sophie, present and oriented to Pôle emploi Agen
	absent, notice           int64      // PERRIN's convocation (caught up), RENARD's formal notice
	referent                 int64      // Claire Dubois, Pôle emploi Agen
	enrolment                int64      // LAMBERT in matrixProgramme at Pôle emploi Agen
	agreement                int64      // a cumul agreement of a person of 47-AGEN1
	fundingLine, budgetLine  int64      // the first of the demo's
	client                   clientBody // an API client of Pôle emploi Agen that no persona uses
}

const matrixProgramme = "matrix_offre"

// newMatrixFixture builds the case on p's demo data. The partners are API clients of their
// organisations with every scope, whose tokens the token endpoint issues, as in production.
func newMatrixFixture(p partnerAPI) *matrixFixture {
	h := p.harness
	h.t.Helper()
	f := &matrixFixture{h: h, api: p, fx: pathwaytest.New(h.t, h.db)}
	f.pe, f.marmande = h.organisationID(demo.PoleEmploiAgen), h.organisationID("Pôle emploi Marmande")
	f.session = h.demoSession().ID
	f.beneficiary = f.demoPerson("9470001")
	f.convocation = f.convocationOf(f.beneficiary)
	f.absent = f.convocationOf(f.demoPerson("9470008"))
	require.NoError(h.t, h.db.Table("formal_notices").Where("beneficiary_id = ?", f.demoPerson("9470010")).Pluck("id", &f.notice).Error)
	require.NoError(h.t, h.db.Table("referents").Where("last_name = ? AND organisation_id = ?", "Dubois", f.pe).Pluck("id", &f.referent).Error)
	require.NoError(h.t, h.db.Raw(`SELECT l.id FROM budget_lines l JOIN actions a ON a.id = l.action_id
		WHERE a.departement = '47' ORDER BY l.id LIMIT 1`).Scan(&f.budgetLine).Error)
	require.NoError(h.t, h.db.Table("funding_lines").Where("departement = '47'").Order("id").Limit(1).Pluck("id", &f.fundingLine).Error)
	f.platform = f.fx.Session("47-AGEN1", f.pe, time.Date(2020, 9, 21, 7, 0, 0, 0, time.UTC))

	var orientation int64
	require.NoError(h.t, h.db.Table("orientations").Where("beneficiary_id = ? AND current", f.beneficiary).Pluck("id", &orientation).Error)
	h.created("/api/v1/programmes", fmt.Sprintf(`{"code":%q,"name":"Offre de la matrice","action_code":"4.1","organisation_ids":[%d],
		"unit_costs":[{"basis":"per_event","event":"diagnostic_interview","amount":"250.00"}]}`, matrixProgramme, f.pe))
	f.enrolment, _ = h.created("/api/v1/enrolments", fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,
		"referent_id":%d,"orientation_id":%d,"started_on":"2020-01-06"}`, f.beneficiary, matrixProgramme, f.pe, f.referent, orientation))
	h.created(enrolmentPath(f.enrolment, "events"), `{"event":"diagnostic_interview","occurred_on":"2020-01-10"}`)
	h.created(enrolmentPath(f.enrolment, "contracts"), `{"type":"ppae","signed_on":"2020-01-13","starts_on":"2020-01-13","ends_on":"2020-07-12"}`)
	f.agreement = f.newAgreement()
	h.created(allocationsPath(f.agreement), `{"month":"2020-06","wages":"1200.00","rsa_without_wages":"564.78"}`)

	f.client = p.newClient(f.pe, clients.ScopeBeneficiariesRead)
	f.as = [personaCount]auth.Principal{{}, admin47, manager47, agent47, agentNerac, {}, {}, admin33}
	for persona, org := range map[persona]int64{partnerHere: f.pe, partnerThere: f.marmande} {
		f.bearer[persona] = p.tokenOf(p.newClient(org, clients.Scopes...)).AccessToken
		var err error
		f.as[persona], err = h.tokens.Verify(f.bearer[persona])
		require.NoError(h.t, err)
	}
	f.snapshot = fingerprintQuery(h)
	return f
}

// send serves req as persona p.
func (f *matrixFixture) send(req request, p persona) *httptest.ResponseRecorder {
	if f.bearer[p] != "" {
		headers := map[string]string{"Authorization": "Bearer " + f.bearer[p]}
		for k, v := range req.headers {
			headers[k] = v
		}
		req.headers = headers
	} else {
		req.as = f.as[p]
	}
	return f.h.do(req)
}

// next is a number no earlier request used, for codes and names that must be unique.
func (f *matrixFixture) next() int {
	f.seq++
	return f.seq
}

func (f *matrixFixture) demoPerson(allocataire string) int64 {
	f.h.t.Helper()
	var id int64
	require.NoError(f.h.t, f.h.db.Table("beneficiaries").Where("allocataire_number = ?", allocataire).Pluck("id", &id).Error)
	require.NotZero(f.h.t, id, allocataire)
	return id
}

func (f *matrixFixture) convocationOf(beneficiary int64) int64 {
	f.h.t.Helper()
	var id int64
	require.NoError(f.h.t, f.h.db.Table("convocations").Where("beneficiary_id = ? AND session_id = ?", beneficiary, f.session).Pluck("id", &id).Error)
	require.NotZero(f.h.t, id)
	return id
}

// newcomer is a new person of 47-AGEN1 convoked to the demo platform with attendance, and the
// convocation.
func (f *matrixFixture) newcomer(attendance string) (person, convocation int64) {
	person = f.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2019-11-04"})
	return person, f.fx.Convocation(f.session, person, "2019-12-02", attendance)
}

// newAgreement is a cumul agreement, recorded by an administrator, of a new person of 47-AGEN1.
func (f *matrixFixture) newAgreement() int64 {
	return f.h.cumulAgreement(f.h.cumulPerson("47-AGEN1"), "73282932000074", "2020-05-15", "2020-09-30")
}

// getReq is a GET of path, the same for every persona.
func getReq(path string) func(*matrixFixture) request {
	return func(*matrixFixture) request { return request{method: http.MethodGet, path: path} }
}

// postReq is a POST of body to path.
func postReq(path, body string) request {
	return request{method: http.MethodPost, path: path, body: body}
}

// patchReq is a PATCH with If-Match "*": the matrix is about who may write, not about versions.
func patchReq(path, body string) request {
	return request{method: http.MethodPatch, path: path, body: body, headers: map[string]string{"If-Match": "*"}}
}

// itoa writes an id as paths and the audit trail do.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// matrixRows lists every route of the router.
func matrixRows() []matrixRow {
	return []matrixRow{
		// Operations, public.
		{"GET /healthz", publicRoute, getReq("/healthz")},
		{"GET /readyz", publicRoute, getReq("/readyz")},
		{"GET /metrics", publicRoute, getReq("/metrics")},
		{"GET /.well-known/jwks.json", publicRoute, getReq("/.well-known/jwks.json")},
		// A bearer token is no login link: everyone gets the same 401.
		{"GET /login", "401 401 401 401 401 401 401 401", getReq("/login?token=not-a-link")},
		{"GET /dashboard", dashboardRoute, getReq("/dashboard?year=2020")},
		{"GET /dashboard/workbook.xlsx", dashboardRoute, getReq("/dashboard/workbook.xlsx?year=2020")},

		// Reference data.
		{"GET /api/v1/territories", everyoneList, getReq("/api/v1/territories")},
		{"GET /api/v1/territories/{code}", everyoneRead, getReq("/api/v1/territories/47-AGEN1")},
		{"POST /api/v1/territories", "401 2xx 403 403 403 403 403 422", func(f *matrixFixture) request {
			return postReq("/api/v1/territories", fmt.Sprintf(`{"code":"47-MATRICE%d","name":"Matrice"}`, f.next()))
		}},
		{"PATCH /api/v1/territories/{code}", adminWrite, func(*matrixFixture) request {
			return patchReq("/api/v1/territories/47-AGEN1", `{"name":"Agen 1"}`)
		}},
		{"GET /api/v1/organisations", everyoneList, getReq("/api/v1/organisations")},
		{"POST /api/v1/organisations", "401 2xx 403 403 403 403 403 2xx", func(f *matrixFixture) request {
			return postReq("/api/v1/organisations", fmt.Sprintf(`{"name":"Association de la matrice %d","kind":"association"}`, f.next()))
		}},
		{"GET /api/v1/organisations/{id}", everyoneRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/organisations/" + itoa(f.pe)}
		}},
		{"PATCH /api/v1/organisations/{id}", adminWrite, func(f *matrixFixture) request {
			return patchReq("/api/v1/organisations/"+itoa(f.pe), `{"kind":"pole_emploi"}`)
		}},
		{"GET /api/v1/organisations/{id}/referents", referentRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/organisations/" + itoa(f.pe) + "/referents"}
		}},
		{"POST /api/v1/organisations/{id}/referents", adminWrite, func(f *matrixFixture) request {
			return postReq("/api/v1/organisations/"+itoa(f.pe)+"/referents", `{"last_name":"Petit","first_name":"Léa"}`)
		}},
		{"GET /api/v1/referents/{id}", referentRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/referents/" + itoa(f.referent)}
		}},
		{"PATCH /api/v1/referents/{id}", adminWrite, func(f *matrixFixture) request {
			return patchReq("/api/v1/referents/"+itoa(f.referent), `{"phone":"05 53 12 34 56"}`)
		}},
		{"GET /api/v1/programmes", everyoneList, getReq("/api/v1/programmes")},
		{"POST /api/v1/programmes", "401 2xx 403 403 403 403 403 422", func(f *matrixFixture) request {
			return postReq("/api/v1/programmes", fmt.Sprintf(`{"code":"matrice_%d","name":"Offre","action_code":"4.2","organisation_ids":[%d]}`, f.next(), f.pe))
		}},
		{"GET /api/v1/programmes/{code}", everyoneRead, getReq("/api/v1/programmes/accompagnement_global")},
		{"PATCH /api/v1/programmes/{code}", adminWrite, func(*matrixFixture) request {
			return patchReq("/api/v1/programmes/"+matrixProgramme, `{"name":"Offre de la matrice"}`)
		}},

		// Budget and indicators.
		{"GET /api/v1/conventions/{year}/actions", budgetRead, getReq("/api/v1/conventions/2020/actions")},
		{"POST /api/v1/conventions/{year}/actions", adminWrite, func(f *matrixFixture) request {
			return postReq("/api/v1/conventions/2020/actions", fmt.Sprintf(`{"code":"9.%d","title":"Matrice","category":"cil",
				"funding_line":"0304 50 19 19 10","budget":"1000.00","state_share":"500.00","departement_share":"500.00"}`, f.next()))
		}},
		{"GET /api/v1/conventions/{year}/check", budgetRead, getReq("/api/v1/conventions/2020/check")},
		{"POST /api/v1/conventions/{year}/funding-lines", adminWrite, func(f *matrixFixture) request {
			return postReq("/api/v1/conventions/2020/funding-lines", fmt.Sprintf(`{"chorus":"0304 50 19 19 %d","label":"Matrice",
				"theme":"Thème","prenotified":"10.00"}`, 20+f.next()))
		}},
		{"GET /api/v1/funding-lines/{id}", budgetRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/funding-lines/" + itoa(f.fundingLine)}
		}},
		{"PATCH /api/v1/funding-lines/{id}", adminWrite, func(f *matrixFixture) request {
			return patchReq("/api/v1/funding-lines/"+itoa(f.fundingLine), `{"theme":"Thème"}`)
		}},
		{"GET /api/v1/actions/{code}", budgetRead, getReq("/api/v1/actions/4.4?year=2020")},
		{"PATCH /api/v1/actions/{code}", adminWrite, func(*matrixFixture) request {
			return patchReq("/api/v1/actions/4.4?year=2020", `{"other_funders":"0.00"}`)
		}},
		{"POST /api/v1/actions/{code}/budget-lines", adminWrite, func(*matrixFixture) request {
			return postReq("/api/v1/actions/4.4/budget-lines?year=2020", `{"label":"Matrice","amount":"10.00","state_share":"5.00","departement_share":"5.00"}`)
		}},
		{"GET /api/v1/actions/{code}/accruals", aggregateRead, getReq("/api/v1/actions/4.1/accruals?year=2020")},
		{"GET /api/v1/actions/{code}/exits", aggregateRead, getReq("/api/v1/actions/4.1/exits?year=2020")},
		{"GET /api/v1/budget-lines/{id}", budgetRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/budget-lines/" + itoa(f.budgetLine)}
		}},
		{"PATCH /api/v1/budget-lines/{id}", adminWrite, func(f *matrixFixture) request {
			return patchReq("/api/v1/budget-lines/"+itoa(f.budgetLine), `{"label":"Ligne de la matrice"}`)
		}},
		{"POST /api/v1/indicators", "401 2xx 403 403 403 403 403 422", func(f *matrixFixture) request {
			return postReq("/api/v1/indicators", fmt.Sprintf(`{"code":"4.4.matrice_%d","action_code":"4.4","scope":"departmental",
				"label":"Matrice","unit":"count","method":"declared","targets":[]}`, f.next()))
		}},
		{"GET /api/v1/indicators/{code}", budgetRead, getReq("/api/v1/indicators/3.1.new_entrants")},
		{"PATCH /api/v1/indicators/{code}", adminWrite, func(*matrixFixture) request {
			return patchReq("/api/v1/indicators/2.1.people_welcomed", `{"label":"Personnes accueillies"}`)
		}},
		{"POST /api/v1/indicators/{code}/values", "401 2xx 403 2xx 422 403 403 404", func(*matrixFixture) request {
			return postReq("/api/v1/indicators/2.1.people_welcomed/values", `{"period":"2020-06","territory":"47-AGEN1","value":3,"source":"CMS"}`)
		}},
		{"GET /api/v1/reports/indicators", "401 2xx 2xx 2xx 2xx 403 403 2xx", getReq("/api/v1/reports/indicators?year=2020")},
		{"GET /api/v1/reports/spend", aggregateRead, getReq("/api/v1/reports/spend?year=2020")},
		{"GET /api/v1/expenses", "401 2xx 2xx 403 403 403 403 empty", getReq("/api/v1/expenses")},
		{"POST /api/v1/expenses", "401 2xx 403 403 403 403 403 422", func(*matrixFixture) request {
			return postReq("/api/v1/expenses", entryJSON("4.4", "commitment", "100.00", "2020-05-04", ""))
		}},
		{"POST /api/v1/expenses/{id}/reverse", adminWrite, func(f *matrixFixture) request {
			e := f.h.postExpense(entryJSON("4.4", "commitment", "100.00", "2020-05-04", ""))
			return postReq(fmt.Sprintf("/api/v1/expenses/%d/reverse", e.ID), `{}`)
		}},

		// Beneficiaries and the orientation pathway.
		{"GET /api/v1/beneficiaries", caseList, getReq("/api/v1/beneficiaries")},
		// An agent may not create records in another territory; territories are public, so the
		// 403 tells nothing.
		{"POST /api/v1/beneficiaries", "401 2xx 403 2xx 403 403 403 422", func(f *matrixFixture) request {
			return postReq("/api/v1/beneficiaries", fmt.Sprintf(`{"last_name":"Matrice","first_name":"Test","birth_date":"1990-01-01",
				"payer":"caf","allocataire_number":"8%06d","territory_code":"47-AGEN1","rights_opened_on":"2020-09-01"}`, f.next()))
		}},
		{"GET /api/v1/beneficiaries/{id}", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/beneficiaries/" + itoa(f.beneficiary)}
		}},
		{"PATCH /api/v1/beneficiaries/{id}", "401 2xx 403 2xx 404 403 403 404", func(f *matrixFixture) request {
			return patchReq("/api/v1/beneficiaries/"+itoa(f.beneficiary), `{"commune":"Agen"}`)
		}},
		// Another département's import is read, and its row refused: 200, nothing written.
		{"POST /api/v1/imports/beneficiaries", "401 2xx 403 403 403 403 403 200", func(f *matrixFixture) request {
			body, contentType := multipartForm(f.h.t, "file", "payer;allocataire_number;last_name;first_name;birth_date;territory_code;rights_opened_on;commune\n"+
				fmt.Sprintf("caf;7%06d;Martin;Léa;12/05/1985;47-AGEN1;01/09/2020;Agen\n", f.next()))
			return request{method: http.MethodPost, path: "/api/v1/imports/beneficiaries", body: body, headers: map[string]string{"Content-Type": contentType}}
		}},
		{"GET /api/v1/beneficiaries/{id}/orientations", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/beneficiaries/" + itoa(f.beneficiary) + "/orientations"}
		}},
		{"POST /api/v1/beneficiaries/{id}/orientations", partnerWrite, func(f *matrixFixture) request {
			person, convocation := f.newcomer("present")
			return postReq("/api/v1/beneficiaries/"+itoa(person)+"/orientations", fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,
				"decided_on":"2019-12-13","origin":"platform","convocation_id":%d}`, f.pe, convocation))
		}},
		{"GET /api/v1/beneficiaries/{id}/timeline", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/beneficiaries/" + itoa(f.beneficiary) + "/timeline"}
		}},
		{"GET /api/v1/orientation-sessions", "401 2xx 2xx 2xx empty 2xx empty empty", getReq("/api/v1/orientation-sessions")},
		{"POST /api/v1/orientation-sessions", "401 2xx 403 2xx 403 403 403 422", func(f *matrixFixture) request {
			return postReq("/api/v1/orientation-sessions", fmt.Sprintf(`{"territory_code":"47-AGEN1","site_organisation_id":%d,
				"starts_at":"2020-10-05T09:00:00+02:00","capacity":12,"employment_professional":"Conseillère emploi",
				"social_professional":"Assistante sociale"}`, f.pe))
		}},
		{"GET /api/v1/orientation-sessions/{id}", sessionRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/orientation-sessions/" + itoa(f.session)}
		}},
		{"GET /api/v1/orientation-sessions/{id}/summary", sessionRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/orientation-sessions/" + itoa(f.session) + "/summary"}
		}},
		{"GET /api/v1/orientation-sessions/{id}/convocations", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/orientation-sessions/" + itoa(f.session) + "/convocations"}
		}},
		{"POST /api/v1/orientation-sessions/{id}/convocations", caseWrite, func(f *matrixFixture) request {
			person := f.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
			return postReq("/api/v1/orientation-sessions/"+itoa(f.platform)+"/convocations", fmt.Sprintf(`{"beneficiary_id":%d,"sent_on":"2020-09-11"}`, person))
		}},
		{"PATCH /api/v1/convocations/{id}", partnerWrite, func(f *matrixFixture) request {
			return patchReq("/api/v1/convocations/"+itoa(f.convocation), `{"attendance":"present"}`)
		}},
		{"POST /api/v1/convocations/{id}/catch-up", caseWrite, func(f *matrixFixture) request {
			return postReq("/api/v1/convocations/"+itoa(f.absent)+"/catch-up", `{"date":"2019-12-20","attended":true}`)
		}},
		{"POST /api/v1/convocations/{id}/formal-notice", caseWrite, func(f *matrixFixture) request {
			_, convocation := f.newcomer("no_show")
			return postReq("/api/v1/convocations/"+itoa(convocation)+"/formal-notice", `{"issued_on":"2019-12-20","response_deadline":"2020-01-20"}`)
		}},
		{"PATCH /api/v1/formal-notices/{id}", caseWrite, func(f *matrixFixture) request {
			return patchReq("/api/v1/formal-notices/"+itoa(f.notice), `{"outcome":"unanswered"}`)
		}},

		// Accompaniment.
		{"GET /api/v1/enrolments", caseList, getReq("/api/v1/enrolments")},
		{"POST /api/v1/enrolments", caseWrite, func(f *matrixFixture) request {
			person, _ := f.newcomer("present")
			return postReq("/api/v1/enrolments", fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"started_on":"2020-10-01"}`,
				person, matrixProgramme, f.pe))
		}},
		{"GET /api/v1/enrolments/{id}", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: enrolmentPath(f.enrolment, "")}
		}},
		{"PATCH /api/v1/enrolments/{id}", partnerWrite, func(f *matrixFixture) request {
			return patchReq(enrolmentPath(f.enrolment, ""), `{"first_appointment_on":"2020-01-08"}`)
		}},
		{"GET /api/v1/enrolments/{id}/events", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: enrolmentPath(f.enrolment, "events")}
		}},
		{"POST /api/v1/enrolments/{id}/events", caseWrite, func(f *matrixFixture) request {
			return postReq(enrolmentPath(f.enrolment, "events"), fmt.Sprintf(`{"event":"diagnostic_interview","occurred_on":"2020-02-%02d"}`, f.next()%28+1))
		}},
		{"GET /api/v1/enrolments/{id}/contracts", caseRead, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: enrolmentPath(f.enrolment, "contracts")}
		}},
		{"POST /api/v1/enrolments/{id}/contracts", partnerWrite, func(f *matrixFixture) request {
			return postReq(enrolmentPath(f.enrolment, "contracts"), `{"type":"ppae","signed_on":"2020-07-13","starts_on":"2020-07-13","ends_on":"2021-01-12"}`)
		}},

		// Cumul rSa / activité: administrators and agents only.
		{"GET /api/v1/cumul/agreements", "401 2xx 403 2xx empty 403 403 empty", getReq("/api/v1/cumul/agreements")},
		{"POST /api/v1/cumul/agreements", cumulAccess, func(f *matrixFixture) request {
			return postReq("/api/v1/cumul/agreements", fmt.Sprintf(`{"beneficiary_id":%d,"employer":"EARL des Vergers","siret":"732 829 320 00074",
				"sector":"agriculture","contract_type":"seasonal","starts_on":"2020-05-15","ends_on":"2020-09-30","hours":35}`, f.h.cumulPerson("47-AGEN1")))
		}},
		{"GET /api/v1/cumul/agreements/{id}", cumulAccess, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: "/api/v1/cumul/agreements/" + itoa(f.agreement)}
		}},
		{"PATCH /api/v1/cumul/agreements/{id}", cumulAccess, func(f *matrixFixture) request {
			return patchReq("/api/v1/cumul/agreements/"+itoa(f.agreement), `{"unemployment_rights_reopened_on":null}`)
		}},
		{"GET /api/v1/cumul/agreements/{id}/allocations", cumulAccess, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: allocationsPath(f.agreement)}
		}},
		{"POST /api/v1/cumul/agreements/{id}/allocations", cumulAccess, func(f *matrixFixture) request {
			return postReq(allocationsPath(f.newAgreement()), `{"month":"2020-06","wages":"1200.00","rsa_without_wages":"564.78"}`)
		}},
		{"GET /api/v1/cumul/envelope", budgetRead, getReq("/api/v1/cumul/envelope?year=2020")},
		{"GET /api/v1/cumul/allocations/summary", "401 2xx 2xx 403 403 403 403 2xx", getReq("/api/v1/cumul/allocations/summary?year=2020")},

		// The change feed, in each caller's scope, and the audit trail, for administrators.
		{"GET /api/v1/events", caseList, getReq("/api/v1/events")},
		{"GET /api/v1/audit-events", "401 2xx 403 403 403 403 403 2xx", getReq("/api/v1/audit-events")},

		// Partner API clients, administrators only.
		{"GET /api/v1/api-clients", "401 2xx 403 403 403 403 403 empty", getReq("/api/v1/api-clients")},
		{"POST /api/v1/api-clients", "401 2xx 403 403 403 403 403 422", func(f *matrixFixture) request {
			return postReq("/api/v1/api-clients", fmt.Sprintf(`{"name":"SI de la matrice %d","organisation_id":%d,"scopes":["beneficiaries:read"]}`, f.next(), f.pe))
		}},
		{"GET /api/v1/api-clients/{id}", adminWrite, func(f *matrixFixture) request {
			return request{method: http.MethodGet, path: clientPath(f.client.ID, "")}
		}},
		{"POST /api/v1/api-clients/{id}/rotate", adminWrite, func(f *matrixFixture) request {
			return request{method: http.MethodPost, path: clientPath(f.client.ID, "rotate")}
		}},
		{"POST /api/v1/api-clients/{id}/revoke", adminWrite, func(f *matrixFixture) request {
			return request{method: http.MethodPost, path: clientPath(f.api.newClient(f.pe, clients.ScopeBeneficiariesRead).ID, "revoke")}
		}},
		// The token endpoint takes the client's credentials and nothing else: a request that
		// comes with a bearer token is refused (401 invalid_client), whoever it names.
		{"POST /api/v1/oauth/token", "2xx 401 401 401 401 401 401 401", func(f *matrixFixture) request {
			c := f.api.newClient(f.pe, clients.ScopeBeneficiariesRead)
			return request{method: http.MethodPost, path: tokenEndpoint, body: credentialsForm(c.ClientID, c.ClientSecret),
				headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}},
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	p := newPartnerAPI(t, nil)
	h, f := p.harness, newMatrixFixture(p)
	rows := matrixRows()

	routed := map[string]bool{}
	for _, r := range h.router.Routes() {
		routed[api.RouteKey(r.Method, r.Path)] = true
	}
	listed := map[string]bool{}
	for _, row := range rows {
		assert.False(t, listed[row.route], "%s is listed twice", row.route)
		listed[row.route] = true
		assert.True(t, routed[row.route], "the matrix lists %s, which no route serves", row.route)
	}
	for route := range routed {
		assert.True(t, listed[route], "route %s is missing from the authorization matrix", route)
	}

	doc, _ := loadSpec(t)
	for _, row := range rows {
		t.Run(row.route, func(t *testing.T) {
			want := strings.Fields(row.want)
			require.Len(t, want, int(personaCount), "one expectation per persona")
			checkAgainstRoles(t, doc, row, want)
			for p := range personaCount {
				req := row.req(f)
				before := f.fingerprint()
				rec := f.send(req, p)
				f.assertOutcome(t, p, want[p], req, rec)
				after := f.fingerprint()
				switch {
				case rec.Code >= 400:
					assert.Equal(t, before, after, "%s: a refused request (%d) wrote nothing", p, rec.Code)
				case want[p] == "2xx" && req.method != http.MethodGet:
					assert.NotEqual(t, before, after, "%s: a successful write shows in the fingerprint", p)
				}
			}
		})
	}
}

// assertOutcome checks the response of persona p against want.
func (f *matrixFixture) assertOutcome(t *testing.T, p persona, want string, req request, rec *httptest.ResponseRecorder) {
	t.Helper()
	what := fmt.Sprintf("%s: %s %s → %d %s", p, req.method, req.path, rec.Code, strings.TrimSpace(firstLine(rec.Body.String())))
	t.Logf("%s → %d", p, rec.Code)
	switch want {
	case "2xx":
		assert.True(t, rec.Code >= 200 && rec.Code < 300, what)
	case "empty":
		if assert.Equal(t, http.StatusOK, rec.Code, what) {
			var list struct {
				Items []json.RawMessage `json:"items"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list), what)
			assert.Empty(t, list.Items, "%s: sees none of the case's records", p)
		}
	default:
		status, err := strconv.Atoi(want)
		require.NoError(t, err, "expectation %q", want)
		assert.Equal(t, status, rec.Code, what)
	}
	if rec.Code >= 400 {
		assertRefusal(t, req.path, rec)
	}
}

// checkAgainstRoles holds the table to the x-roles openapi.yaml documents and to the rule
// that scope never shows as a 403: a role the operation does not admit gets 403; a role it
// admits is not refused in its own scope; and, on a route that names an object in its path, a
// caller out of scope gets 403 only where the caller of the same role in scope does too — an
// object out of scope is a 404, so that a 403 never tells that it exists. (Creating a record
// in a territory that is not one's own may be a 403: territories are public.)
func checkAgainstRoles(t *testing.T, doc *openapi3.T, row matrixRow, want []string) {
	t.Helper()
	method, path, _ := strings.Cut(row.route, " ")
	item := doc.Paths.Find(path)
	if item == nil || item.GetOperation(method) == nil {
		return // TestRoutesAndSpecAgree reports it
	}
	raw, _ := item.GetOperation(method).Extensions["x-roles"].([]any)
	if len(raw) == 0 {
		for p := adminHere; p < personaCount; p++ {
			assert.Equal(t, want[adminHere], want[p], "%s: a public route answers every bearer token alike", p)
		}
		return
	}
	var roles []string
	for _, r := range raw {
		roles = append(roles, fmt.Sprint(r))
	}
	assert.Equal(t, "401", want[anonymous], "x-roles: the route needs a token")
	for p := adminHere; p < personaCount; p++ {
		if !slices.Contains(roles, string(personaRoles[p])) {
			assert.Equal(t, "403", want[p], "%s: x-roles %v does not admit the role", p, roles)
		}
	}
	objectLevel := strings.Contains(path, "{")
	for _, pair := range [][2]persona{{adminHere, adminThere}, {agentHere, agentThere}, {partnerHere, partnerThere}} {
		here, there := pair[0], pair[1]
		if slices.Contains(roles, string(personaRoles[here])) {
			assert.NotEqual(t, "403", want[here], "%s: x-roles %v admits the role", here, roles)
		}
		if objectLevel && want[there] == "403" {
			assert.Equal(t, "403", want[here], "%s gets 403 where %s gets through: scope must not show as 403", there, here)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 300 {
		line = line[:300]
	}
	return line
}

// fingerprintQuery is one SELECT that counts the rows of every table of the schema and sums the
// versions of those that have one: a refused request must leave it unchanged.
func fingerprintQuery(h *harness) string {
	h.t.Helper()
	var tables []struct {
		Name       string
		HasVersion bool
	}
	require.NoError(h.t, h.db.Raw(`SELECT t.table_name AS name, EXISTS (SELECT 1 FROM information_schema.columns c
			WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'version') AS has_version
		FROM information_schema.tables t WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		ORDER BY t.table_name`).Scan(&tables).Error)
	parts := make([]string, 0, len(tables))
	for _, tb := range tables {
		version := "0"
		if tb.HasVersion {
			version = "coalesce(sum(version), 0)"
		}
		parts = append(parts, fmt.Sprintf(`SELECT '%s' || ':' || count(*) || ':' || %s FROM %q`, tb.Name, version, tb.Name))
	}
	require.NotEmpty(h.t, parts)
	return "SELECT string_agg(s, ' ') FROM (" + strings.Join(parts, " UNION ALL ") + ") AS f(s)"
}

func (f *matrixFixture) fingerprint() string {
	f.h.t.Helper()
	var out string
	require.NoError(f.h.t, f.h.db.Raw(f.snapshot).Scan(&out).Error)
	return out
}
