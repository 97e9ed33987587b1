package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

const importPath = "/api/v1/imports/beneficiaries"

// fluxFile has two valid rows and one with an unknown territory, under allocataire numbers
// the demo data does not use.
const fluxFile = "payer;allocataire_number;last_name;first_name;birth_date;territory_code;rights_opened_on;commune\n" +
	"caf;90000001;Martin;Léa;12/05/1985;47-AGEN1;01/09/2020;Agen\n" +
	"msa;90000002;Bernard;Luc;1979-03-12;47-MARMANDE;2020-10-01;Marmande\n" +
	"caf;90000003;Thomas;Eva;1980-02-01;47-PARIS;2020-09-01;Paris\n"

// multipartForm is a multipart/form-data body with content as the file of field.
func multipartForm(t *testing.T, field, content string) (body, contentType string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	require.NoError(t, w.WriteField("comment", "flux CAF du jour"))
	part, err := w.CreateFormFile(field, "flux.csv")
	require.NoError(t, err)
	_, err = part.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.String(), w.FormDataContentType()
}

func (h *harness) upload(as auth.Principal, field, content string) *httptest.ResponseRecorder {
	h.t.Helper()
	body, contentType := multipartForm(h.t, field, content)
	return h.do(request{method: http.MethodPost, path: importPath, body: body, as: as,
		headers: map[string]string{"Content-Type": contentType}})
}

func (h *harness) beneficiaryAndAuditCounts() [2]int64 {
	h.t.Helper()
	var out [2]int64
	for i, table := range []string{"beneficiaries", "audit_events"} {
		require.NoError(h.t, h.db.Table(table).Count(&out[i]).Error)
	}
	return out
}

type importReport struct {
	RowsRead   int `json:"rows_read"`
	Created    int `json:"created"`
	Updated    int `json:"updated"`
	Unchanged  int `json:"unchanged"`
	Rejected   int `json:"rejected"`
	Rejections []struct {
		Line   int    `json:"line"`
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"rejections"`
}

func TestImportBeneficiaries(t *testing.T) {
	h := newHarness(t)
	before := h.beneficiaryAndAuditCounts()

	rec := h.upload(admin47, "file", fluxFile)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rep := decode[importReport](t, rec)
	assert.Equal(t, 3, rep.RowsRead)
	assert.Equal(t, 2, rep.Created)
	assert.Zero(t, rep.Updated)
	assert.Zero(t, rep.Unchanged)
	assert.Equal(t, 1, rep.Rejected)
	require.Len(t, rep.Rejections, 1)
	assert.Equal(t, 4, rep.Rejections[0].Line)
	assert.Equal(t, "territory_code", rep.Rejections[0].Field)
	assert.Equal(t, "no territory 47-PARIS", rep.Rejections[0].Reason)
	assert.Equal(t, [2]int64{before[0] + 2, before[1] + 2}, h.beneficiaryAndAuditCounts())

	rec = h.upload(admin47, "file", fluxFile)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rep = decode[importReport](t, rec)
	assert.Equal(t, 2, rep.Unchanged, "a re-import changes nothing")
	assert.Zero(t, rep.Created+rep.Updated)
	assert.Equal(t, [2]int64{before[0] + 2, before[1] + 2}, h.beneficiaryAndAuditCounts())
}

func TestImportRefusals(t *testing.T) {
	h := newHarness(t)
	validBody, validType := multipartForm(t, "file", fluxFile)
	noFileBody, noFileType := multipartForm(t, "upload", fluxFile)
	malformedBody, malformedType := multipartForm(t, "file", "payer;last_name\ncaf;Martin\n")
	tests := []struct {
		name        string
		as          auth.Principal
		body, ctype string
		status      int
		field       string
	}{
		{"manager", manager47, validBody, validType, http.StatusForbidden, ""},
		{"agent", agent47, validBody, validType, http.StatusForbidden, ""},
		{"partner", partner47, validBody, validType, http.StatusForbidden, ""},
		{"no token", auth.Principal{}, validBody, validType, http.StatusUnauthorized, ""},
		{"JSON instead of a form", admin47, `{"file":"payer"}`, "application/json", http.StatusUnsupportedMediaType, ""},
		{"CSV as the body", admin47, fluxFile, "text/csv", http.StatusUnsupportedMediaType, ""},
		{"a form without the file field", admin47, noFileBody, noFileType, http.StatusBadRequest, "file"},
		{"a form without boundary", admin47, validBody, "multipart/form-data", http.StatusBadRequest, ""},
		{"a truncated form", admin47, validBody[:len(validBody)-40], validType, http.StatusBadRequest, ""},
		{"a malformed file", admin47, malformedBody, malformedType, http.StatusUnprocessableEntity, "file"},
	}
	before := h.beneficiaryAndAuditCounts()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(request{method: http.MethodPost, path: importPath, body: tt.body, as: tt.as,
				headers: map[string]string{"Content-Type": tt.ctype}})
			p := problem(t, rec, tt.status)
			if tt.field != "" {
				assert.Contains(t, fields(p), tt.field)
			}
			assert.Equal(t, before, h.beneficiaryAndAuditCounts(), "a refused import writes nothing")
		})
	}
}
