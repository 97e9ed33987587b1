package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services/auth"
)

type beneficiaryBody struct {
	ID      int64   `json:"id"`
	NIR     *string `json:"nir"`
	Status  string  `json:"status"`
	Version int     `json:"version"`
}

const julieJSON = `{"last_name":"Martin","first_name":"Julie","birth_date":"1985-05-14","payer":"caf",
	"allocataire_number":"1234567","nir":"2 85 05 47 001 002 43","territory_code":"47-AGEN1","commune":"Agen",
	"household_size":2,"rights_opened_on":"2020-09-01","phone":"06 12 34 56 78"}`

// partnerOf returns a partner token principal for a new organisation with a session in
// 47-AGEN1 to which beneficiary is convoked.
func (h *harness) partnerOf(beneficiary int64) auth.Principal {
	h.t.Helper()
	org := models.Organisation{Departement: "47", Name: "Pôle emploi test " + strconv.FormatInt(beneficiary, 10), Kind: "pole_emploi", Version: 1}
	require.NoError(h.t, h.db.Create(&org).Error)
	session := models.OrientationSession{Departement: "47", TerritoryCode: "47-AGEN1", SiteOrganisationID: org.ID,
		StartsAt: time.Date(2020, 10, 5, 9, 0, 0, 0, time.UTC), Capacity: 10, EmploymentProfessional: "Conseiller PE",
		SocialProfessional: "Travailleur social", Version: 1}
	require.NoError(h.t, h.db.Create(&session).Error)
	require.NoError(h.t, h.db.Create(&models.Convocation{Departement: "47", SessionID: session.ID, BeneficiaryID: beneficiary,
		SentOn: time.Date(2020, 9, 20, 0, 0, 0, 0, time.UTC), Version: 1}).Error)
	return auth.Principal{Subject: "pe-api", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org.ID, 10)}
}

func TestBeneficiaryAccessRules(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries", as: agent47, body: julieJSON})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	created := decode[beneficiaryBody](t, rec)
	require.NotNil(t, created.NIR)
	assert.Equal(t, "285054700100243", *created.NIR)
	path := "/api/v1/beneficiaries/" + strconv.FormatInt(created.ID, 10)
	assert.Equal(t, path, rec.Header().Get("Location"))

	problem(t, h.do(request{method: http.MethodGet, path: path, as: agentNerac}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodGet, path: path, as: manager47}), http.StatusForbidden)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries", as: manager47}), http.StatusForbidden)
	problem(t, h.do(request{method: http.MethodGet, path: path, as: admin33}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodGet, path: path, as: partner47}), http.StatusNotFound) // a partner sees only its own people

	partner := h.partnerOf(created.ID)
	rec = h.do(request{method: http.MethodGet, path: path, as: partner})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Nil(t, decode[beneficiaryBody](t, rec).NIR, "a partner never sees a NIR")
	assert.NotContains(t, rec.Body.String(), "285054700100243")
	list := decode[struct {
		Items []beneficiaryBody `json:"items"`
	}](t, h.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries", as: partner}))
	require.Len(t, list.Items, 1)
	assert.Nil(t, list.Items[0].NIR)
	assert.Equal(t, "convoked", list.Items[0].Status)
	problem(t, h.do(request{method: http.MethodPatch, path: path, as: partner, headers: map[string]string{"If-Match": `"1"`},
		body: `{"household_size":3}`}), http.StatusForbidden)

	var reads int64
	require.NoError(t, h.db.Table("audit_events").Where("resource = 'beneficiary' AND action = 'read' AND resource_id = ?",
		strconv.FormatInt(created.ID, 10)).Count(&reads).Error)
	assert.Equal(t, int64(2), reads, "the partner's read and its list; the create's answer is the create's event")
}

func TestBeneficiaryWrites(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries", as: admin47, body: julieJSON})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	id := decode[beneficiaryBody](t, rec).ID
	path := "/api/v1/beneficiaries/" + strconv.FormatInt(id, 10)

	p := problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries", as: admin47, body: julieJSON}), http.StatusConflict)
	require.NotNil(t, p.ExistingID)
	assert.Equal(t, id, *p.ExistingID)

	p = problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries", as: admin47,
		body: `{"last_name":"","birth_date":"14/05/1985","payer":"pe","nir":"123","email":"nope","household_size":null}`}), http.StatusUnprocessableEntity)
	assert.ElementsMatch(t, []string{"last_name", "first_name", "birth_date", "payer", "allocataire_number", "nir", "territory_code",
		"rights_opened_on", "email", "household_size"}, keys(fields(p)), "every bad field at once")

	problem(t, h.do(request{method: http.MethodPatch, path: path, as: admin47, body: `{"household_size":3}`}), http.StatusPreconditionRequired)
	rec = h.do(request{method: http.MethodPatch, path: path, as: admin47, headers: map[string]string{"If-Match": `"1"`},
		body: `{"household_size":3,"phone":null}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	problem(t, h.do(request{method: http.MethodPatch, path: path, as: admin47, headers: map[string]string{"If-Match": `"1"`},
		body: `{"household_size":4}`}), http.StatusPreconditionFailed)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries?status=lost", as: admin47}), http.StatusUnprocessableEntity)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries?overdue_days=x", as: admin47}), http.StatusBadRequest)
}
