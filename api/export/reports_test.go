package export_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"parcours/api/export"
	"parcours/services/reports"
)

func figures(budget, state, committed, paid, accrued, rate, projected string, flags ...string) reports.SpendFigures {
	f := reports.SpendFigures{Budget: d(budget), StateShare: d(state), DepartementShare: d(budget).Sub(d(state)), Carryover: d("0"),
		OtherFunders: d("0"), Committed: d(committed), Paid: d(paid), Accrued: d(accrued), ExecutionRate: d(rate),
		ProjectedYearEnd: d(projected), StateConsumed: d(paid).Div(d("2")), Flags: flags}
	f.Consumed = f.Paid.Add(f.Accrued)
	f.Remaining = f.Budget.Sub(f.Consumed)
	return f
}

// spendFixture is a spend report of two funding lines, one without fiches, and two fiches;
// the sums are set by hand, as the service sums them in SQL.
func spendFixture() reports.Spend {
	asOf, _ := time.Parse(time.DateOnly, "2020-09-30")
	return reports.Spend{Year: 2020, Departement: "47", AsOf: asOf,
		Actions: []reports.ActionSpend{
			{Code: "4.2", Title: "Offre départementale", FundingLine: chorus07,
				SpendFigures: figures("192746.00", "95390.00", "50000.00", "20000.00", "1103.23", "0.1095", "28188.99", reports.FlagUnderspendRisk)},
			{Code: "4.4", Title: "Cumul", FundingLine: chorus07,
				SpendFigures: figures("1000.00", "500.00", "900.00", "800.00", "100.00", "0.9000", "1201.46", reports.FlagOverspendRisk, reports.FlagStateCreditsAtRisk)},
		},
		FundingLines: []reports.FundingLineSpend{
			{Chorus: chorus07, Label: "Garantie d'activité", Theme: "Insertion des allocataires du RSA",
				SpendFigures: figures("193746.00", "95890.00", "50900.00", "20800.00", "1203.23", "0.1136", "29390.45", reports.FlagUnderspendRisk)},
			{Chorus: chorus11, Label: "Petite enfance", Theme: "Petite enfance",
				SpendFigures: figures("0", "0", "0", "0", "0", "0", "0")},
		},
		Totals: figures("193746.00", "95890.00", "50900.00", "20800.00", "1203.23", "0.1136", "29390.45", reports.FlagUnderspendRisk),
	}
}

func indicatorsFixture() reports.Indicators {
	n := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(d(s)) }
	return reports.Indicators{Year: 2020, Departement: "47", Rows: []reports.IndicatorRow{
		{Code: "3.1.orientation_delay_days", Action: "3.1", Scope: "departmental", Label: "Réduction des délais d’orientation", Unit: "days",
			Method: "computed", Target: n("60"), TargetComparator: "lte", Value: n("47.5"), Status: reports.StatusMet},
		{Code: "3.1.platform_territories", Action: "3.1", Scope: "departmental", Label: "Mise en place de la plateforme", Unit: "count",
			Method: "declared", Target: n("3"), TargetComparator: "gte", Value: n("2"), Status: reports.StatusBehind},
		{Code: "5.trainings_by_theme", Action: "5", Scope: "national", Label: "Personnes formées", Unit: "count",
			Method: "declared", Status: reports.StatusNoData},
	}}
}

var wantSpendHeader = []string{"Thème", "Imputation Chorus", "Fiche", "Intitulé de l'action", "Budget global", "Participation État",
	"Participation CD", "Report 2019", "Autres financeurs", "Engagé", "Payé", "Charges constatées", "Consommé", "Reste à consommer",
	"Part État consommée", "Taux d'exécution", "Projection au 31/12", "Alertes"}

func TestWriteSpendCSV(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, export.WriteSpendCSV(&buf, spendFixture()))
	records, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, wantSpendHeader, records[0])
	assert.Equal(t, [][]string{
		{"Insertion des allocataires du RSA", chorus07 + " – Garantie d'activité", "4.2", "Offre départementale",
			"192746.00", "95390.00", "97356.00", "0.00", "0.00", "50000.00", "20000.00", "1103.23", "21103.23", "171642.77", "10000.00",
			"0.1095", "28188.99", "risque de sous-consommation"},
		{"Insertion des allocataires du RSA", chorus07 + " – Garantie d'activité", "4.4", "Cumul",
			"1000.00", "500.00", "500.00", "0.00", "0.00", "900.00", "800.00", "100.00", "900.00", "100.00", "400.00",
			"0.9000", "1201.46", "risque de dépassement, crédits État dépassés"},
		{"Insertion des allocataires du RSA", "Sous-total " + chorus07, "", "",
			"193746.00", "95890.00", "97856.00", "0.00", "0.00", "50900.00", "20800.00", "1203.23", "22003.23", "171742.77", "10400.00",
			"0.1136", "29390.45", "risque de sous-consommation"},
		{"Petite enfance", "Sous-total " + chorus11, "Aucune action programmée", "Aucune action programmée",
			"0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.0000", "0.00", ""},
		{"TOTAUX FINANCIERS", "", "", "",
			"193746.00", "95890.00", "97856.00", "0.00", "0.00", "50900.00", "20800.00", "1203.23", "22003.23", "171742.77", "10400.00",
			"0.1136", "29390.45", "risque de sous-consommation"},
	}, records[1:])
}

func TestWriteIndicatorsCSV(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, export.WriteIndicatorsCSV(&buf, indicatorsFixture()))
	records, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, [][]string{
		{"Fiche", "Code", "Indicateur", "Portée", "Unité", "Méthode", "Cible", "Comparaison", "Valeur", "Statut"},
		{"3.1", "3.1.orientation_delay_days", "Réduction des délais d’orientation", "départemental", "jours", "calculé", "60", "≤", "47.5", "atteint"},
		{"3.1", "3.1.platform_territories", "Mise en place de la plateforme", "départemental", "nombre", "déclaré", "3", "≥", "2", "en retard"},
		{"5", "5.trainings_by_theme", "Personnes formées", "national", "nombre", "déclaré", "", "", "", "sans donnée"},
	}, records)
}

func reportWorkbook(t *testing.T, s *reports.Spend) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, export.WriteReportXLSX(&buf, s, indicatorsFixture()))
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestWriteReportXLSX(t *testing.T) {
	s := spendFixture()
	f := reportWorkbook(t, &s)
	assert.Equal(t, []string{"Dépenses", "Indicateurs"}, f.GetSheetList())

	title, err := f.GetCellValue("Dépenses", "A1")
	require.NoError(t, err)
	assert.Equal(t, "Exécution 2020 au 30/09/2020 — département 47", title)
	rows, err := f.GetRows("Dépenses", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Len(t, rows, 2+5, "title, header, 2 fiches, 2 subtotals, the total")
	assert.Equal(t, wantSpendHeader, rows[1])

	// The total row: money cells are numbers with the euro format, the rate a percentage.
	for col, want := range map[string]string{"E": "193746", "J": "50900", "K": "20800", "L": "1203.23", "M": "22003.23", "Q": "29390.45"} {
		ref := col + "7"
		typ, err := f.GetCellType("Dépenses", ref)
		require.NoError(t, err)
		assert.Contains(t, []excelize.CellType{excelize.CellTypeNumber, excelize.CellTypeUnset}, typ, "%s is a number", ref)
		raw, err := f.GetCellValue("Dépenses", ref, excelize.Options{RawCellValue: true})
		require.NoError(t, err)
		assert.True(t, d(want).Equal(d(raw)), "%s: want %s, got %s", ref, want, raw)
		st := styleOf(t, f, "Dépenses", ref)
		require.NotNil(t, st.CustomNumFmt, ref)
		assert.Equal(t, `#,##0.00\ "€"`, *st.CustomNumFmt, ref)
		assert.True(t, st.Font != nil && st.Font.Bold, "%s: the total is bold", ref)
	}
	assert.Equal(t, 10, styleOf(t, f, "Dépenses", "P3").NumFmt, "the built-in 0.00% format")
	shown, err := f.GetCellValue("Dépenses", "P3")
	require.NoError(t, err)
	assert.Equal(t, "10.95%", shown)
	alert, err := f.GetCellValue("Dépenses", "R4")
	require.NoError(t, err)
	assert.Equal(t, "risque de dépassement, crédits État dépassés", alert)

	ind, err := f.GetRows("Indicateurs", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Len(t, ind, 2+3)
	assert.Equal(t, []string{"3.1", "3.1.platform_territories", "Mise en place de la plateforme", "départemental", "nombre", "déclaré", "3", "≥", "2", "en retard"}, ind[3])
	typ, err := f.GetCellType("Indicateurs", "I3")
	require.NoError(t, err)
	assert.Contains(t, []excelize.CellType{excelize.CellTypeNumber, excelize.CellTypeUnset}, typ, "values are numbers")
}

func TestReportXLSXWithoutSpend(t *testing.T) {
	f := reportWorkbook(t, nil)
	assert.Equal(t, []string{"Indicateurs"}, f.GetSheetList(), "for callers who may not read spend")
}

func TestReportFilename(t *testing.T) {
	assert.Equal(t, "suivi-47-2020.xlsx", export.ReportFilename(export.ReportWorkbook, "47", 2020, "xlsx"))
	assert.Equal(t, "depenses-2A-2021.csv", export.ReportFilename(export.SpendReport, "2A", 2021, ".csv"))
	assert.Equal(t, "indicateurs-4_7-2020.csv", export.ReportFilename(export.IndicatorsReport, "4/7", 2020, "csv"))
}

func styleOf(t *testing.T, f *excelize.File, sheet, ref string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	require.NoError(t, err)
	s, err := f.GetStyle(id)
	require.NoError(t, err)
	return s
}
