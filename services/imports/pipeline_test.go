package imports_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/beneficiaries"
	"parcours/services/imports"
	"parcours/services/servicetest"
)

// recordedThree records the three beneficiaries the pipeline file refers to.
func (e env) recordedThree(t *testing.T) (p1, p2, p3 beneficiaries.Beneficiary) {
	t.Helper()
	p1 = e.create(t, beneficiaries.Input{Payer: ptr("caf"), AllocataireNumber: ptr("9999999"), LastName: ptr("Durand"),
		FirstName: ptr("Paul"), BirthDate: date("1985-05-20"), NIR: ptr(nir("1850547001002")), TerritoryCode: ptr("47-NERAC"),
		Commune: ptr("Nérac"), RightsOpenedOn: date("2020-01-15")})
	p2 = e.create(t, beneficiaries.Input{Payer: ptr("msa"), AllocataireNumber: ptr("8888888"), LastName: ptr("Petit"),
		FirstName: ptr("Anne"), BirthDate: date("1970-03-03"), TerritoryCode: ptr("47-FUMEL"), RightsOpenedOn: date("2020-02-01")})
	p3 = e.create(t, beneficiaries.Input{Payer: ptr("caf"), AllocataireNumber: ptr("7777777"), LastName: ptr("Roux"),
		FirstName: ptr("Jean"), BirthDate: date("1990-01-01"), TerritoryCode: ptr("47-NERAC"), Commune: ptr("Nérac"),
		RightsOpenedOn: date("2020-03-01")})
	return p1, p2, p3
}

// pipelineFile mixes, over 60 lines, new people, the recorded ones (changed, unchanged,
// contradicted), the same person twice far apart, a quoted field over two lines, and a NIR
// that the file takes from p1 before giving it to a new person.
func pipelineFile() string {
	var b strings.Builder
	b.WriteString(header)
	person := func(i int, nirCell string) string {
		return fmt.Sprintf("caf,%07d,Nom%d,Prénom%d,1980-02-%02d,%s,%s,Commune %d,%d,2020-09-01,1,,,0,0\n",
			3000000+i, i, i, 1+i%28, nirCell, territoryCodes[i%len(territoryCodes)], i, 1+i%5)
	}
	b.WriteString("caf,9999999,Durand,Paul,1985-05-20," + nir("1850547001099") + ",47-NERAC,Nérac,1,2020-01-15,1,,,0,0\n") // 2: p1 takes another NIR
	for i := 3; i <= 60; i++ {
		switch i {
		case 7:
			b.WriteString("caf,7777777,Roux,Jean,1990-01-01,,47-NERAC,Nérac,1,2020-03-01,1,,,0,0\n") // unchanged p3
		case 11:
			b.WriteString("msa,8888888,Petit,Anne,1971-03-03,,47-FUMEL,,1,2020-02-01,1,,,0,0\n") // p2's birth date
		case 17:
			b.WriteString("caf,3000004,Nom4,Marc,1980-02-01,,47-AGEN1,\"Deux\nLignes\",1,2020-09-01,1,,,0,0\n") // 17-18, same key as line 6
			i++
		case 29:
			b.WriteString("caf,3100029,Garcia,Noé,1985-01-01," + nir("1850547001002") + ",47-AGEN1,Agen,1,2020-09-01,1,,,0,0\n") // p1's NIR
		case 41:
			b.WriteString(person(1041, nir("2800247001003"))) // the NIR of line 52
		case 52:
			b.WriteString(person(1052, nir("2800247001003"))) // same NIR as line 41
		case 58:
			b.WriteString(person(1058, "not-a-nir"))
		default:
			b.WriteString(person(i-2, ""))
		}
	}
	return b.String()
}

// snapshot is the state an import leaves: its report, the beneficiaries and the audit trail.
type snapshot struct {
	Report imports.Report
	People []string
	Audit  []string
}

func (e env) snapshot(t *testing.T, rep imports.Report) snapshot {
	t.Helper()
	s := snapshot{Report: rep}
	require.NoError(t, e.db.Raw(`SELECT concat_ws('|', id, payer, allocataire_number, last_name, first_name, birth_date,
		encode(nir_hash, 'hex'), territory_code, commune, household_size, version) FROM beneficiaries ORDER BY id`).Scan(&s.People).Error)
	require.NoError(t, e.db.Raw(`SELECT concat_ws('|', id, action, resource, resource_id) FROM audit_events ORDER BY id`).Scan(&s.Audit).Error)
	return s
}

func TestSmallChunksAndBatchesImportTheSame(t *testing.T) {
	file := pipelineFile()
	run := func(t *testing.T, svc func(*imports.Service) *imports.Service) []snapshot {
		e := newEnv(t)
		e.recordedThree(t)
		var out []snapshot
		for range 2 { // the second import finds everything recorded
			rep, err := svc(e.svc).Beneficiaries(servicetest.As(admin), strings.NewReader(file))
			require.NoError(t, err)
			out = append(out, e.snapshot(t, rep))
		}
		return out
	}
	want := run(t, func(s *imports.Service) *imports.Service { return s })

	first := want[0].Report
	p1ID, p2ID := "1", "2" // the fresh database numbers them in order
	assert.Equal(t, 58, first.RowsRead, "59 physical lines, one row over two")
	assert.Equal(t, 1, first.Updated)
	assert.Equal(t, 1, first.Unchanged)
	assert.Equal(t, []lineField{{11, "birth_date"}, {17, "allocataire_number"}, {29, "nir"}, {52, "nir"}, {58, "nir"}},
		lineFields(first.Rejections))
	assert.Equal(t, 5, first.Rejected)
	assert.Equal(t, first.RowsRead-5-2, first.Created)
	reasons := map[int]string{}
	for _, r := range first.Rejections {
		reasons[r.Line] = r.Reason
	}
	assert.Contains(t, reasons[11], "beneficiary "+p2ID)
	assert.Equal(t, "same payer and allocataire number as line 6", reasons[17])
	assert.Contains(t, reasons[29], "beneficiary "+p1ID+", another allocataire",
		"checked against the beneficiaries as they were before the import, though line 2 gives p1 another NIR")
	assert.Equal(t, "same NIR as line 41, another allocataire", reasons[52])
	second := want[1].Report
	assert.Equal(t, 1, second.Created, "line 29: the NIR p1 had is free now")
	assert.Zero(t, second.Updated)

	for _, size := range []struct{ chunk, batch int }{{1, 1}, {2, 3}, {3, 7}, {7, 2}, {64, 5}} {
		t.Run(fmt.Sprintf("chunks of %d, batches of %d", size.chunk, size.batch), func(t *testing.T) {
			got := run(t, func(s *imports.Service) *imports.Service { return s.WithSizes(size.chunk, size.batch) })
			assert.Equal(t, want, got)
		})
	}
}

func TestAMalformedRowAfterManyBatchesImportsNothing(t *testing.T) {
	e := newEnv(t)
	e.recordedThree(t)
	file := pipelineFile() + "caf,1,too,few\n"
	_, err := e.svc.WithSizes(2, 3).Beneficiaries(servicetest.As(admin), strings.NewReader(file))
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Contains(t, verr.Fields[0].Message, "line 61 has 4 fields where the header has 15")
	assert.EqualValues(t, 3, e.count(t, "beneficiaries"), "the batches written before the fault are rolled back")
	assert.EqualValues(t, 3, e.count(t, "audit_events"))
	assert.Equal(t, 1, e.load(t, "caf", "9999999").Version)
}
