package export

import (
	"fmt"
	"io"
	"strings"

	"parcours/services/reports"
)

// Name prefixes of the report downloads (see ReportFilename).
const (
	SpendReport      = "depenses"    // the spend table as CSV
	IndicatorsReport = "indicateurs" // the indicator table as CSV
	ReportWorkbook   = "suivi"       // both tables as one XLSX workbook
)

// Sheets of the report workbook.
const (
	spendSheet      = "Dépenses"
	indicatorsSheet = "Indicateurs"
)

// ReportFilename is the download name of a report: prefix SpendReport, IndicatorsReport or
// ReportWorkbook, e.g. "suivi-47-2020.xlsx".
func ReportFilename(prefix, departement string, year int, ext string) string {
	return filename(prefix, departement, year, ext)
}

// flagLabels word the spend flags in French.
var flagLabels = map[string]string{
	reports.FlagOverspendRisk:      "risque de dépassement",
	reports.FlagUnderspendRisk:     "risque de sous-consommation",
	reports.FlagStateCreditsAtRisk: "crédits État dépassés",
}

// spendTable is the spend report in the Annexe 3 layout (funding lines, their fiches and
// subtotals, the grand total), the Annexe 3 money columns followed by the consumption ones.
// Every figure is the report's: nothing is summed here.
func spendTable(s reports.Spend) table {
	money := func(h string) column { return column{header: h, kind: moneyColumn, width: 15} }
	t := table{sheet: spendSheet,
		title: fmt.Sprintf("Exécution %d au %s — département %s", s.Year, s.AsOf.Format("02/01/2006"), s.Departement),
		columns: []column{
			{"Thème", textColumn, 28}, {"Imputation Chorus", textColumn, 38}, {"Fiche", textColumn, 8}, {"Intitulé de l'action", wrappedColumn, 46},
			money("Budget global"), money("Participation État"), money("Participation CD"), money(fmt.Sprintf("Report %d", s.Year-1)),
			money("Autres financeurs"), money("Engagé"), money("Payé"), money("Charges constatées"), money("Consommé"),
			money("Reste à consommer"), money("Part État consommée"), {"Taux d'exécution", rateColumn, 12},
			money("Projection au 31/12"), {"Alertes", wrappedColumn, 30},
		}}
	lines := make([]annexeLine, len(s.FundingLines))
	for i, f := range s.FundingLines {
		lines[i] = annexeLine{chorus: f.Chorus, label: f.Label, theme: f.Theme, numbers: spendCells(f.SpendFigures)}
	}
	actions := make([]annexeAction, len(s.Actions))
	for i, a := range s.Actions {
		actions[i] = annexeAction{code: a.Code, title: a.Title, chorus: a.FundingLine, numbers: spendCells(a.SpendFigures)}
	}
	t.rows = annexeRows(lines, actions, spendCells(s.Totals))
	return t
}

// spendCells are the figure cells of a spend row, in the order of spendTable's columns.
func spendCells(f reports.SpendFigures) []cell {
	alerts := make([]string, len(f.Flags))
	for i, flag := range f.Flags {
		alerts[i] = flagLabels[flag]
	}
	return []cell{numberCell(f.Budget), numberCell(f.StateShare), numberCell(f.DepartementShare), numberCell(f.Carryover),
		numberCell(f.OtherFunders), numberCell(f.Committed), numberCell(f.Paid), numberCell(f.Accrued), numberCell(f.Consumed),
		numberCell(f.Remaining), numberCell(f.StateConsumed), numberCell(f.ExecutionRate), numberCell(f.ProjectedYearEnd),
		textCell(strings.Join(alerts, ", "))}
}

// French words of the indicator report's closed vocabularies.
var (
	scopeLabels      = map[string]string{"national": "national", "departmental": "départemental"}
	unitLabels       = map[string]string{"count": "nombre", "days": "jours", "rate": "taux", "amount": "montant"}
	methodLabels     = map[string]string{"computed": "calculé", "declared": "déclaré"}
	comparatorLabels = map[string]string{"eq": "=", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
	statusLabels     = map[string]string{reports.StatusMet: "atteint", reports.StatusBehind: "en retard",
		reports.StatusNoTarget: "sans cible", reports.StatusNoData: "sans donnée"}
)

// indicatorsTable is the indicator report: one row per indicator with its target, value and
// status.
func indicatorsTable(r reports.Indicators) table {
	title := fmt.Sprintf("Indicateurs %d — département %s", r.Year, r.Departement)
	if r.Territory != "" {
		title += ", territoire " + r.Territory
	}
	t := table{sheet: indicatorsSheet, title: title, columns: []column{
		{"Fiche", textColumn, 8}, {"Code", textColumn, 36}, {"Indicateur", wrappedColumn, 60}, {"Portée", textColumn, 14},
		{"Unité", textColumn, 10}, {"Méthode", textColumn, 10}, {"Cible", numberColumn, 12}, {"Comparaison", textColumn, 12},
		{"Valeur", numberColumn, 12}, {"Statut", textColumn, 12},
	}}
	for _, row := range r.Rows {
		cells := textCells(row.Action, row.Code, row.Label, scopeLabels[row.Scope], unitLabels[row.Unit], methodLabels[row.Method])
		cells = append(cells, nullableCell(row.Target), textCell(comparatorLabels[row.TargetComparator]), nullableCell(row.Value),
			textCell(statusLabels[row.Status]))
		t.rows = append(t.rows, tableRow{kind: actionRow, cells: cells})
	}
	return t
}

// WriteSpendCSV writes the spend report s to w as RFC 4180 CSV in the Annexe 3 layout with the
// consumption columns added: money as "1234.50", the execution rate as "0.5123", the flags in
// French in the last column.
func WriteSpendCSV(w io.Writer, s reports.Spend) error { return writeCSV(w, spendTable(s), "spend") }

// WriteIndicatorsCSV writes the indicator report r to w as RFC 4180 CSV, with French headers
// and words; targets and values are plain numbers, empty when there is none.
func WriteIndicatorsCSV(w io.Writer, r reports.Indicators) error {
	return writeCSV(w, indicatorsTable(r), "indicators")
}

// WriteReportXLSX writes one workbook to w: the sheet "Dépenses" (the spend report s in the
// Annexe 3 layout with the consumption columns added; left out when s is nil, for callers who
// may not read spend) and the sheet "Indicateurs" (the indicator report r). Money cells are
// numbers with the euro format, rates numbers with a percent format.
func WriteReportXLSX(w io.Writer, s *reports.Spend, r reports.Indicators) error {
	var tables []table
	if s != nil {
		tables = append(tables, spendTable(*s))
	}
	tables = append(tables, indicatorsTable(r))
	title := fmt.Sprintf("Suivi de la convention %d — département %s", r.Year, r.Departement)
	return writeWorkbook(w, title, "report", tables...)
}
