package imports_test

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services/imports"
	"parcours/services/pii"
	"parcours/services/servicetest"
)

// header names every column of the flux.
const header = "payer,allocataire_number,last_name,first_name,birth_date,nir,territory_code,commune,household_size," +
	"rights_opened_on,subject_to_rights_and_duties,phone,email,independent_worker,leaving_child_welfare\n"

// territoryCodes are the territories of Lot-et-Garonne in the demo data.
var territoryCodes = []string{"47-AGEN1", "47-AGEN2", "47-AGEN3", "47-VILLENEUVE", "47-FUMEL", "47-MARMANDE", "47-TONNEINS", "47-NERAC"}

// env is a migrated database holding the demo territories, and an import service over it.
type env struct {
	db     *gorm.DB
	cipher *pii.Cipher
	svc    *imports.Service
}

func newEnv(t testing.TB) env {
	t.Helper()
	db := servicetest.NewDB(t)
	for _, code := range territoryCodes {
		require.NoError(t, db.Omit("ID", "CreatedAt", "UpdatedAt").Create(&models.Territory{
			Departement: "47", Code: code, Name: code, Version: 1}).Error)
	}
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	return env{db: db, cipher: cipher, svc: imports.New(db, cipher)}
}

func (e env) count(t testing.TB, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, e.db.Table(table).Count(&n).Error)
	return n
}

// nir completes 13 digits (sex, year, month, département, commune, order) with their key.
func nir(body string) string {
	n, err := strconv.ParseUint(body, 10, 64)
	if err != nil || len(body) != 13 {
		panic(fmt.Sprintf("nir body %q", body))
	}
	return fmt.Sprintf("%s%02d", body, 97-n%97)
}
