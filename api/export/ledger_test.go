package export_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/api/export"
	"parcours/services/expenses"
)

func TestLedgerFilename(t *testing.T) {
	assert.Equal(t, "ecritures-47.csv", export.LedgerFilename("47"))
	assert.Equal(t, "ecritures-2A.csv", export.LedgerFilename("2A"))
	assert.Equal(t, "ecritures-4_7_.csv", export.LedgerFilename("4/7\""), "nothing that breaks the header")
}

func TestLedgerCSVWritesOneRowPerEntry(t *testing.T) {
	var buf bytes.Buffer
	l, err := export.NewLedgerCSV(&buf)
	require.NoError(t, err)
	line, reversed, state := int64(12), int64(7), "state"
	on := time.Date(2020, 7, 2, 0, 0, 0, 0, time.UTC)
	require.NoError(t, l.Write(expenses.Expense{ID: 8, ActionCode: "4.4", BudgetLineID: &line, Kind: expenses.KindPayment,
		Amount: d("-250.5"), Date: on, Supplier: "SARL Dupont, Fils & Cie", Reference: "ANNUL \"1\"", Funder: &state,
		Shares: expenses.Shares{State: d("-250.5"), Departement: d("0"), Carryover: d("0"), Other: d("0")}, ReversesID: &reversed}))
	require.NoError(t, l.Write(expenses.Expense{ID: 9, ActionCode: "3.1", Kind: expenses.KindCommitment, Amount: d("1000"), Date: on,
		Supplier: "Solincité", Reference: "ENG-1", Shares: expenses.Shares{State: d("69.77"), Departement: d("186.05"), Carryover: d("744.18"), Other: d("0")}}))
	require.NoError(t, l.Flush())
	assert.Equal(t, "id,action_code,budget_line_id,kind,amount,date,supplier,reference,funder,state_share,departement_share,carryover_share,other_share,reverses_id\n"+
		`8,4.4,12,payment,-250.50,2020-07-02,"SARL Dupont, Fils & Cie","ANNUL ""1""",state,-250.50,0.00,0.00,0.00,7`+"\n"+
		"9,3.1,,commitment,1000.00,2020-07-02,Solincité,ENG-1,,69.77,186.05,744.18,0.00,\n", buf.String())
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 3)
}
