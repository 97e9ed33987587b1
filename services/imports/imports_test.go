package imports_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/imports"
	"parcours/services/servicetest"
)

var admin = servicetest.Admin47

func ptr[T any](v T) *T { return &v }

func date(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

// create records a beneficiary through the API's service.
func (e env) create(t *testing.T, in beneficiaries.Input) beneficiaries.Beneficiary {
	t.Helper()
	b, err := beneficiaries.New(e.db, e.cipher).Create(servicetest.As(admin), in)
	require.NoError(t, err)
	return b
}

func (e env) load(t *testing.T, payer, number string) models.Beneficiary {
	t.Helper()
	var row models.Beneficiary
	require.NoError(t, e.db.Where("payer = ? AND allocataire_number = ?", payer, number).Take(&row).Error)
	return row
}

// importText imports text as the Lot-et-Garonne administrator.
func (e env) importText(t *testing.T, text string) (imports.Report, error) {
	t.Helper()
	return e.svc.Beneficiaries(servicetest.As(admin), strings.NewReader(text))
}

type lineField struct {
	Line  int
	Field string
}

func lineFields(rs []imports.Rejection) []lineField {
	out := make([]lineField, len(rs))
	for i, r := range rs {
		out[i] = lineField{r.Line, r.Field}
	}
	return out
}

// auditActions counts the audit rows of the beneficiary resource by action.
func (e env) auditActions(t *testing.T) map[string]int {
	t.Helper()
	var rows []struct {
		Action string
		N      int
	}
	require.NoError(t, e.db.Raw(`SELECT action, count(*) AS n FROM audit_events WHERE resource = 'beneficiary' GROUP BY action`).Scan(&rows).Error)
	out := map[string]int{}
	for _, r := range rows {
		out[r.Action] = r.N
	}
	return out
}

func TestImportReportsValidAndRejectedRows(t *testing.T) {
	e := newEnv(t)
	p1NIR := nir("1850547001002")
	p1 := e.create(t, beneficiaries.Input{Payer: ptr("caf"), AllocataireNumber: ptr("9999999"), LastName: ptr("Durand"),
		FirstName: ptr("Paul"), BirthDate: date("1985-05-20"), NIR: ptr(p1NIR), TerritoryCode: ptr("47-NERAC"),
		Commune: ptr("Nérac"), RightsOpenedOn: date("2020-01-15")})
	p2 := e.create(t, beneficiaries.Input{Payer: ptr("msa"), AllocataireNumber: ptr("8888888"), LastName: ptr("Petit"),
		FirstName: ptr("Anne"), BirthDate: date("1970-03-03"), TerritoryCode: ptr("47-FUMEL"), RightsOpenedOn: date("2020-02-01")})
	e.create(t, beneficiaries.Input{Payer: ptr("caf"), AllocataireNumber: ptr("7777777"), LastName: ptr("Roux"),
		FirstName: ptr("Jean"), BirthDate: date("1990-01-01"), TerritoryCode: ptr("47-NERAC"), Commune: ptr("Nérac"),
		RightsOpenedOn: date("2020-03-01")})
	var lastAudit int64
	require.NoError(t, e.db.Raw(`SELECT max(id) FROM audit_events`).Scan(&lastAudit).Error)

	leaNIR := nir("2850547001001")
	file := header +
		"caf,1000001,Martin,Léa,1985-05-12," + leaNIR + ",47-AGEN1,Agen,2,2020-09-01,1,06 12 34 56 78,lea@example.fr,0,0\n" + // 2 created
		"msa,2000001,Bernard,Luc,12/03/1979,,47-marmande,Marmande,,01/10/2020,oui,,,non,non\n" + // 3 created
		"caf,1000002,Thomas,Eva,31/02/1980,,47-AGEN1,Agen,1,2020-09-01,1,,,0,0\n" + // 4 birth_date
		"caf,1000003,Robert,Max,1980-02-01,,47-PARIS,Paris,1,2020-09-01,1,,,0,0\n" + // 5 territory_code
		"caf,1000001,Martin,Léa,1985-05-12,,47-AGEN1,Agen,2,2020-09-01,1,,,0,0\n" + // 6 same key as line 2
		"pole,1000004,Richard,Ana,1980-02-01,,47-AGEN1,Agen,1,2020-09-01,1,,not-an-email,0,0\n" + // 7 payer, email
		"caf,1000005,Moreau,Lou,1985-07-07," + leaNIR + ",47-AGEN1,Agen,1,2020-09-01,1,,,0,0\n" + // 8 NIR of line 2
		"caf,1000006,Simon,Rémi,1985-07-07,185054700100299,47-AGEN1,Agen,1,2020-09-01,1,,,0,0\n" + // 9 NIR key
		"caf,1000007,\"Du\nPont\",Marc,1980-02-01,,47-AGEN1,Agen,1,2020-09-01,1,,,0,0\n" + // 10-11 last_name
		"caf,1000008,Laurent,Zoé,1980-02-01,,47-AGEN1,Agen,1,2008-01-01,1,,,0,0\n" + // 12 rights_opened_on
		"caf,1000009,Michel,Jade,1980-02-01,,47-AGEN1,Agen,abc,2020-09-01,1,,,peut-être,0\n" + // 13 two cells
		"caf,1000010,Garcia,Noé,1985-01-01," + p1NIR + ",47-AGEN1,Agen,1,2020-09-01,1,,,0,0\n" + // 14 NIR of p1
		"msa,8888888,Petit,Anne,1971-03-03,,47-FUMEL,,1,2020-02-01,1,,,0,0\n" + // 15 birth date of p2
		"caf,9999999,Durand,Paul,1985-05-20,,47-NERAC,Lavardac,1,2020-01-15,1,,,0,0\n" + // 16 p1 updated
		"caf,7777777,Roux,Jean,1990-01-01,,47-NERAC,Nérac,1,2020-03-01,1,,,0,0\n" // 17 unchanged

	rep, err := e.importText(t, file)
	require.NoError(t, err)
	assert.Equal(t, 15, rep.RowsRead)
	assert.Equal(t, 2, rep.Created)
	assert.Equal(t, 1, rep.Updated)
	assert.Equal(t, 1, rep.Unchanged)
	assert.Equal(t, 11, rep.Rejected)
	assert.Equal(t, []lineField{
		{4, "birth_date"}, {5, "territory_code"}, {6, "allocataire_number"}, {7, "payer"}, {7, "email"}, {8, "nir"},
		{9, "nir"}, {10, "last_name"}, {12, "rights_opened_on"}, {13, "household_size"}, {13, "independent_worker"},
		{14, "nir"}, {15, "birth_date"},
	}, lineFields(rep.Rejections))
	reasons := map[lineField]string{}
	for _, r := range rep.Rejections {
		reasons[lineField{r.Line, r.Field}] = r.Reason
	}
	assert.Equal(t, "same payer and allocataire number as line 2", reasons[lineField{6, "allocataire_number"}])
	assert.Equal(t, "same NIR as line 2, another allocataire", reasons[lineField{8, "nir"}])
	assert.Equal(t, "no territory 47-PARIS", reasons[lineField{5, "territory_code"}])
	assert.Contains(t, reasons[lineField{14, "nir"}], "beneficiary "+itoa(p1.ID))
	assert.Contains(t, reasons[lineField{15, "birth_date"}], "beneficiary "+itoa(p2.ID))
	for _, r := range rep.Rejections {
		assert.NotContains(t, r.Reason, leaNIR, "no NIR in a report")
	}

	assert.EqualValues(t, 5, e.count(t, "beneficiaries"))
	lea := e.load(t, "caf", "1000001")
	assert.Equal(t, "Léa", lea.FirstName)
	assert.Equal(t, 2, lea.HouseholdSize)
	assert.Equal(t, "0612345678", *lea.Phone, "normalized as the API does")
	assert.Equal(t, "lea@example.fr", *lea.Email)
	assert.Equal(t, e.cipher.Hash("47", leaNIR), lea.NIRHash)
	luc := e.load(t, "msa", "2000001")
	assert.Equal(t, "47-MARMANDE", luc.TerritoryCode)
	assert.Equal(t, "1979-03-12", luc.BirthDate.Format(time.DateOnly))
	assert.Equal(t, "2020-10-01", luc.RightsOpenedOn.Format(time.DateOnly))
	assert.Equal(t, 1, luc.HouseholdSize, "an empty cell takes the default")
	assert.True(t, luc.SubjectToRightsAndDuties)
	assert.Nil(t, luc.Phone)
	assert.Nil(t, luc.NIRHash)
	durand := e.load(t, "caf", "9999999")
	assert.Equal(t, "Lavardac", durand.Commune)
	assert.Equal(t, 2, durand.Version)
	assert.Equal(t, e.cipher.Hash("47", p1NIR), durand.NIRHash, "an empty NIR cell keeps the NIR")
	assert.Equal(t, 1, e.load(t, "caf", "7777777").Version)
	assert.Equal(t, 1, e.load(t, "msa", "8888888").Version)

	var audits []models.AuditEvent
	require.NoError(t, e.db.Where("id > ?", lastAudit).Order("id").Find(&audits).Error)
	got := map[string]string{}
	for _, a := range audits {
		assert.Equal(t, admin.Subject, a.Actor)
		assert.Equal(t, "admin", a.Role)
		assert.Equal(t, "beneficiary", a.Resource)
		got[a.ResourceID] = a.Action
	}
	assert.Equal(t, map[string]string{itoa(lea.ID): "create", itoa(luc.ID): "create", itoa(p1.ID): "update"}, got)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// validFile has three valid rows; the third has no NIR.
var validFile = header +
	"caf,1000001,Martin,Léa,1985-05-12," + nir("2850547001001") + ",47-AGEN1,Agen,2,2020-09-01,1,0612345678,lea@example.fr,0,0\n" +
	"caf,1000002,Thomas,Eva,1980-02-01," + nir("2800247001003") + ",47-AGEN2,Agen,1,2020-09-02,1,,,0,1\n" +
	"msa,2000001,Bernard,Luc,1979-03-12,,47-MARMANDE,Marmande,3,2020-10-01,0,,,1,0\n"

func TestReimportingTheSameFileChangesNothing(t *testing.T) {
	e := newEnv(t)
	rep, err := e.importText(t, validFile)
	require.NoError(t, err)
	assert.Equal(t, imports.Report{RowsRead: 3, Created: 3}, rep)
	audits := e.count(t, "audit_events")
	assert.EqualValues(t, 3, audits)

	rep, err = e.importText(t, validFile)
	require.NoError(t, err)
	assert.Equal(t, imports.Report{RowsRead: 3, Unchanged: 3}, rep)
	assert.Equal(t, audits, e.count(t, "audit_events"), "no audit row for unchanged rows")
	var versions []int
	require.NoError(t, e.db.Model(&models.Beneficiary{}).Order("id").Pluck("version", &versions).Error)
	assert.Equal(t, []int{1, 1, 1}, versions)
}

func TestAnUpdatedFileUpdatesOnlyTheChangedRows(t *testing.T) {
	e := newEnv(t)
	_, err := e.importText(t, validFile)
	require.NoError(t, err)
	before := map[string]models.Beneficiary{}
	for _, k := range []string{"1000001", "1000002"} {
		before[k] = e.load(t, "caf", k)
	}

	lucNIR := nir("1790347001004")
	updated := header +
		"caf,1000001,Martin,Léa,1985-05-12,,47-AGEN3,Agen,2,2020-09-01,1,0612345678,lea@example.fr,0,0\n" + // territory; NIR kept
		"caf,1000002,Thomas,Eva,1980-02-01," + nir("2800247001003") + ",47-AGEN2,Agen,1,2020-09-02,1,,,0,1\n" + // same
		"msa,2000001,Bernard,Luc,1979-03-12," + lucNIR + ",47-MARMANDE,Marmande,3,2020-10-01,0,,,1,0\n" + // NIR added
		"caf,1000003,Robert,Max,1980-02-01,,47-AGEN1,Agen,1,2020-09-03,1,,,0,0\n" // new
	rep, err := e.importText(t, updated)
	require.NoError(t, err)
	assert.Equal(t, imports.Report{RowsRead: 4, Created: 1, Updated: 2, Unchanged: 1}, rep)

	lea := e.load(t, "caf", "1000001")
	assert.Equal(t, "47-AGEN3", lea.TerritoryCode)
	assert.Equal(t, 2, lea.Version)
	assert.True(t, lea.UpdatedAt.After(before["1000001"].UpdatedAt))
	assert.Equal(t, before["1000001"].NIRCiphertext, lea.NIRCiphertext, "an empty NIR cell keeps the NIR")
	assert.Equal(t, before["1000002"], e.load(t, "caf", "1000002"))
	luc := e.load(t, "msa", "2000001")
	assert.Equal(t, 2, luc.Version)
	assert.Equal(t, e.cipher.Hash("47", lucNIR), luc.NIRHash)
	assert.Equal(t, map[string]int{"create": 4, "update": 2}, e.auditActions(t))

	// A file without an optional column leaves that column as it is.
	rep, err = e.importText(t, "payer;allocataire_number;last_name;first_name;birth_date;territory_code;rights_opened_on\n"+
		"caf;1000001;Martin;Léa;1985-05-12;47-AGEN3;2020-09-01\n"+
		"msa;2000001;Bernard;Lucien;1979-03-12;47-MARMANDE;2020-10-01\n")
	require.NoError(t, err)
	assert.Equal(t, imports.Report{RowsRead: 2, Updated: 1, Unchanged: 1}, rep)
	lea = e.load(t, "caf", "1000001")
	assert.Equal(t, "0612345678", *lea.Phone)
	assert.Equal(t, 2, lea.HouseholdSize)
	luc = e.load(t, "msa", "2000001")
	assert.Equal(t, "Lucien", luc.FirstName)
	assert.False(t, luc.SubjectToRightsAndDuties)
	assert.Equal(t, 3, luc.Version)
}

func TestAMalformedFileImportsNothing(t *testing.T) {
	valid := "caf,1000001,Martin,Léa,1985-05-12,,47-AGEN1,Agen,2,2020-09-01,1,,,0,0\n"
	tests := []struct {
		name, file, message string
	}{
		{"empty", "", "is empty"},
		{"blank lines", "\n \r\n", "is empty"},
		{"a byte order mark alone", "\xef\xbb\xbf", "is empty"},
		{"missing required columns", "payer,last_name,first_name,birth_date\ncaf,Martin,Léa,1985-05-12\n",
			"misses the required column(s) allocataire_number, territory_code, rights_opened_on"},
		{"unknown column", strings.TrimSuffix(header, "\n") + ",telephone\n" + strings.TrimSuffix(valid, "\n") + ",0\n", `unknown column(s) "telephone"`},
		{"repeated column", strings.TrimSuffix(header, "\n") + ",phone\n" + strings.TrimSuffix(valid, "\n") + ",0\n", "names the column(s) phone more than once"},
		{"a row with a field too few", header + valid + "caf,1000002,Thomas,Eva,1980-02-01,,47-AGEN1,Agen,1,2020-09-01,1,,,0\n",
			"line 3 has 14 fields where the header has 15"},
		{"a row with a field too many", header + valid + valid + strings.TrimSuffix(valid, "\n") + ",x\n",
			"line 4 has 16 fields where the header has 15"},
		{"not CSV", header + valid + `caf,1000002,Tho"mas,Eva,1980-02-01,,47-AGEN1,Agen,1,2020-09-01,1,,,0,0` + "\n",
			`line 3 is not valid CSV: bare " in non-quoted-field`},
		{"an unterminated quote", header + valid + `caf,"1000002,Thomas` + "\n", "line 3 is not valid CSV"},
		{"NUL bytes", header + valid + "\x00\x01\x02", "is not a text file"},
		{"neither UTF-8 nor Windows-1252", header + "caf,1000001,Martin,L\x81a,1985-05-12,,47-AGEN1,Agen,2,2020-09-01,1,,,0,0\n",
			"is neither UTF-8 nor Windows-1252"},
		{"a spreadsheet", "PK\x03\x04\x14\x00\x06\x00", "is not a text file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rep, err := e.importText(t, tt.file)
			var verr *services.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Len(t, verr.Fields, 1)
			assert.Equal(t, "file", verr.Fields[0].Field)
			assert.Contains(t, verr.Fields[0].Message, tt.message)
			assert.Equal(t, imports.Report{}, rep)
			assert.Zero(t, e.count(t, "beneficiaries"))
			assert.Zero(t, e.count(t, "audit_events"))
		})
	}
}

func TestAHeaderWithoutRowsImportsNothing(t *testing.T) {
	e := newEnv(t)
	rep, err := e.importText(t, header)
	require.NoError(t, err)
	assert.Equal(t, imports.Report{}, rep)
}

func TestEncodingsAndSeparators(t *testing.T) {
	// Columns in another order and case, French formats.
	text := "LAST_NAME;First_Name;payer;ALLOCATAIRE_NUMBER;birth_date;territory_code;commune;rights_opened_on;subject_to_rights_and_duties\r\n" +
		"Lefèvre;Zoé;caf;1000001;05/03/1990;47-VILLENEUVE;Villeneuve-sur-Lot;01/09/2020;Oui\r\n" +
		"Çelik;Gaëlle;msa;2000001;1988-12-31;47-NERAC;Nérac;2020-09-02;NON\r\n"
	windows1252, err := charmap.Windows1252.NewEncoder().String(text)
	require.NoError(t, err)
	require.NotEqual(t, text, windows1252, "accents are single bytes in Windows-1252")
	commas := strings.ReplaceAll(text, ";", ",")

	tests := []struct{ name, file string }{
		{"Windows-1252 with semicolons", windows1252},
		{"UTF-8 with semicolons", text},
		{"UTF-8 with a byte order mark and commas", "\xef\xbb\xbf" + commas},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rep, err := e.importText(t, tt.file)
			require.NoError(t, err)
			assert.Equal(t, imports.Report{RowsRead: 2, Created: 2}, rep)
			zoe := e.load(t, "caf", "1000001")
			assert.Equal(t, "Lefèvre", zoe.LastName)
			assert.Equal(t, "Zoé", zoe.FirstName)
			assert.Equal(t, "Villeneuve-sur-Lot", zoe.Commune)
			assert.Equal(t, "1990-03-05", zoe.BirthDate.Format(time.DateOnly))
			assert.True(t, zoe.SubjectToRightsAndDuties)
			gaelle := e.load(t, "msa", "2000001")
			assert.Equal(t, "Çelik", gaelle.LastName)
			assert.Equal(t, "Gaëlle", gaelle.FirstName)
			assert.Equal(t, "Nérac", gaelle.Commune)
			assert.False(t, gaelle.SubjectToRightsAndDuties)
		})
	}
}

func TestTheNIRIsStoredEncrypted(t *testing.T) {
	e := newEnv(t)
	leaNIR := nir("2850547001001")
	spaced := leaNIR[:1] + " " + leaNIR[1:3] + " " + leaNIR[3:5] + " " + leaNIR[5:7] + " " + leaNIR[7:10] + " " + leaNIR[10:13] + " " + leaNIR[13:]
	_, err := e.importText(t, header+"caf,1000001,Martin,Léa,1985-05-12,"+spaced+",47-AGEN1,Agen,2,2020-09-01,1,,,0,0\n")
	require.NoError(t, err)

	row := e.load(t, "caf", "1000001")
	require.NotNil(t, row.NIRCiphertext)
	assert.False(t, bytes.Contains(row.NIRCiphertext, []byte(leaNIR)), "the ciphertext does not hold the NIR")
	var clear int64
	require.NoError(t, e.db.Raw(`SELECT count(*) FROM beneficiaries WHERE position(convert_to(?, 'UTF8') in nir_ciphertext) > 0`, leaNIR).Scan(&clear).Error)
	assert.Zero(t, clear)

	got, err := beneficiaries.New(e.db, e.cipher).Get(servicetest.As(admin), row.ID)
	require.NoError(t, err)
	require.NotNil(t, got.NIR)
	assert.Equal(t, leaNIR, *got.NIR, "normalized and readable by an administrator")
}

func TestOnlyAdministratorsImport(t *testing.T) {
	e := newEnv(t)
	for _, p := range []auth.Principal{
		{Subject: "manager", Role: auth.RoleManager, Departement: "47"},
		{Subject: "agent", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}},
		{Subject: "pe", Role: auth.RolePartner, Departement: "47", Organisation: "1"},
	} {
		_, err := e.svc.Beneficiaries(servicetest.As(p), strings.NewReader(validFile))
		assert.ErrorIs(t, err, services.ErrForbidden, p.Role)
	}
	_, err := e.svc.Beneficiaries(t.Context(), strings.NewReader(validFile))
	assert.ErrorIs(t, err, services.ErrForbidden, "no caller")
	assert.Zero(t, e.count(t, "beneficiaries"))
}
