package imports_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/servicetest"
)

// FuzzFluxImport imports arbitrary bytes as a CAF/MSA flux, as an administrator, into a
// database holding the demo territories: the import never panics; a file it refuses is a
// validation error on "file" and writes nothing; a file it reads adds up (every row read is
// created, updated, unchanged or rejected) and writes one beneficiary per creation and one
// audit row per creation or update.
func FuzzFluxImport(f *testing.F) {
	for _, seed := range []string{
		header + "caf,1000001,Martin,Léa,1985-05-12,2850547001001" + "43" + ",47-AGEN1,Agen,2,2020-09-01,1,06 12 34 56 78,lea@example.fr,0,0\n",
		"payer;allocataire_number;last_name;first_name;birth_date;territory_code;rights_opened_on;commune\n" +
			"caf;90000001;Martin;Léa;12/05/1985;47-AGEN1;01/09/2020;Agen\nmsa;90000002;Bernard;Luc;1979-03-12;47-MARMANDE;2020-10-01;Marmande\n",
		"\xef\xbb\xbfpayer,allocataire_number,last_name,first_name,birth_date,territory_code,rights_opened_on\ncaf,1,A,B,1980-01-01,47-NERAC,2020-01-01\n",
		"payer;allocataire_number;last_name;first_name;birth_date;territory_code;rights_opened_on\ncaf;2;L\xe9a;Z\xf6e;1980-01-01;47-FUMEL;2020-01-01\n",
		"payer,allocataire_number,last_name,first_name,birth_date,territory_code,rights_opened_on\ncaf,3,\"Du\nPont\",Marc,1980-02-01,47-AGEN1,2020-09-01\n",
		"payer,allocataire_number,last_name,first_name,birth_date,territory_code,rights_opened_on\ncaf,4,x\n",
		"payer,allocataire_number,last_name,first_name,birth_date,territory_code,rights_opened_on\ncaf,5,\"unterminated,1980-01-01,47-AGEN1,2020-01-01\n",
		"payer,allocataire_number,last_name,first_name,birth_date,territory_code,rights_opened_on,household_size\ncaf,6,A,B,31/02/1980,47-PARIS,2008-01-01,99999999999999999999\n",
		"payer,last_name\ncaf,Martin\n", "payer,payer,allocataire_number\n", "", "\n\n", "\x00\x01", "\x81\x8d\x8f",
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, file []byte) {
		people, trail := e.count(t, "beneficiaries"), e.count(t, "audit_events")
		rep, err := e.svc.Beneficiaries(servicetest.As(admin), bytes.NewReader(file))
		if err != nil {
			var v *services.ValidationError
			require.True(t, errors.As(err, &v), "a refusal is a validation error (a 422), not %v", err)
			require.Len(t, v.Fields, 1)
			assert.Equal(t, "file", v.Fields[0].Field)
			assert.Equal(t, people, e.count(t, "beneficiaries"), "a refused file writes nothing")
			assert.Equal(t, trail, e.count(t, "audit_events"), "a refused file writes nothing")
			return
		}
		assert.Equal(t, rep.RowsRead, rep.Created+rep.Updated+rep.Unchanged+rep.Rejected, "%+v", rep)
		assert.GreaterOrEqual(t, len(rep.Rejections), rep.Rejected)
		assert.Equal(t, people+int64(rep.Created), e.count(t, "beneficiaries"))
		assert.Equal(t, trail+int64(rep.Created+rep.Updated), e.count(t, "audit_events"))
	})
}
