// Package export renders tables as CSV (machine-readable) and XLSX (for people): the Annexe 3
// "Tableau financier récapitulatif" of a year's contracted budget, from a budget.Year; and the
// management reports, from services/reports: the spend report (the Annexe 3 layout with the
// consumption columns added) and the indicator report, as CSV each or as one workbook.
//
// Every table goes through the same two writers (table.go): text cells as text, money cells
// as plain decimals in CSV and as numbers with a euro format in XLSX.
//
// Both formats carry the same rows, in the order of the signed document: for each funding line
// (Imputation Chorus) one row per fiche action, then the line's subtotal; after the last line,
// the grand total "TOTAUX FINANCIERS". No figure is summed here: subtotals are the sums the
// budget service computed in SQL (budget.FundingLine.Actions and Prenotified), grand totals are
// budget.Year.Totals and budget.Year.Prenotified.
//
// An action whose funding line is not among the year's funding lines is not dropped: such
// actions follow the last subtotal, before the grand total, with their Chorus code marked
// "imputation inconnue" and no subtotal of their own (there is no SQL sum to print for them;
// they are included in the grand total, which sums every action of the year).
package export

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"parcours/services/budget"
)

// Content types of the two renderings, for the Content-Type response header.
const (
	CSVContentType  = "text/csv; charset=utf-8"
	XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// Labels written in the text cells of the table.
const (
	subtotalPrefix   = "Sous-total "
	totalLabel       = "TOTAUX FINANCIERS"
	noActionLabel    = "Aucune action programmée"
	unknownLineLabel = "imputation inconnue"
)

// header returns the column headers of the table for y. The carry-over column is named after
// the year the credits come from ("Report 2019" for the 2020 budget).
func header(y budget.Year) []string {
	return []string{
		"Thème",
		"Imputation Chorus",
		"Fiche",
		"Intitulé de l'action",
		"Budget global",
		"Crédits État pré-notifiés",
		"Participation État",
		"Participation CD",
		"dont valorisation",
		fmt.Sprintf("Report %d", y.Year-1),
		"Autres financeurs",
	}
}

// columnWidths are the XLSX widths of the Annexe 3 columns, in characters.
var columnWidths = []float64{28, 38, 8, 46, 15, 15, 15, 15, 15, 15, 15}

// annexe3Table is the Annexe 3 table of y.
func annexe3Table(y budget.Year) table {
	t := table{sheet: sheetName, title: fmt.Sprintf("Annexe 3 — Tableau financier récapitulatif %d, département %s", y.Year, y.Departement)}
	for i, h := range header(y) {
		kind := moneyColumn
		switch {
		case i == 3:
			kind = wrappedColumn
		case i < 3:
			kind = textColumn
		}
		t.columns = append(t.columns, column{header: h, kind: kind, width: columnWidths[i]})
	}
	lines := make([]annexeLine, len(y.FundingLines))
	for i, f := range y.FundingLines {
		lines[i] = annexeLine{chorus: f.Chorus, label: f.Label, theme: f.Theme, numbers: amountCells(f.Actions, decimal.NewNullDecimal(f.Prenotified))}
	}
	actions := make([]annexeAction, len(y.Actions))
	for i, a := range y.Actions {
		actions[i] = annexeAction{code: a.Code, title: a.Title, chorus: a.FundingLine, numbers: amountCells(a.Amounts, decimal.NullDecimal{})}
	}
	t.rows = annexeRows(lines, actions, amountCells(y.Totals, decimal.NewNullDecimal(y.Prenotified)))
	return t
}

// amountCells are the seven money cells of an Annexe 3 row; an invalid prenotified is an
// empty cell (the pre-notified credits of an action row).
func amountCells(a budget.Amounts, prenotified decimal.NullDecimal) []cell {
	return []cell{numberCell(a.Budget), nullableCell(prenotified), numberCell(a.StateShare), numberCell(a.DepartementShare),
		numberCell(a.Valuation), numberCell(a.Carryover), numberCell(a.OtherFunders)}
}

// annexeLine is a funding line as the Annexe 3 layout prints it: its subtotal's numbers are
// the sums the services computed in SQL.
type annexeLine struct {
	chorus, label, theme string
	numbers              []cell
}

// annexeAction is a fiche action's row in the Annexe 3 layout.
type annexeAction struct {
	code, title, chorus string
	numbers             []cell
}

// annexeRows lays out a table the way the signed Annexe 3 does, four text columns (theme,
// imputation, fiche, title) then the numbers: for each funding line one row per action then
// the line's subtotal ("Aucune action programmée" when it has none); then the actions whose
// line is not among lines ("imputation inconnue"), without a subtotal; then the grand total.
func annexeRows(lines []annexeLine, actions []annexeAction, total []cell) []tableRow {
	byLine := make(map[string][]annexeAction, len(lines))
	known := make(map[string]bool, len(lines))
	for _, f := range lines {
		known[f.chorus] = true
	}
	var orphans []annexeAction
	for _, a := range actions {
		if known[a.chorus] {
			byLine[a.chorus] = append(byLine[a.chorus], a)
		} else {
			orphans = append(orphans, a)
		}
	}

	out := make([]tableRow, 0, len(actions)+len(lines)+1)
	for _, f := range lines {
		imputation := f.chorus
		if f.label != "" {
			imputation += " – " + f.label
		}
		for _, a := range byLine[f.chorus] {
			out = append(out, tableRow{kind: actionRow, cells: append(textCells(f.theme, imputation, a.code, a.title), a.numbers...)})
		}
		code, title := "", ""
		if len(byLine[f.chorus]) == 0 {
			code, title = noActionLabel, noActionLabel
		}
		out = append(out, tableRow{kind: subtotalRow, cells: append(textCells(f.theme, subtotalPrefix+f.chorus, code, title), f.numbers...)})
	}
	// Actions whose funding line is missing from the year: kept, without a subtotal.
	for _, a := range orphans {
		imputation := unknownLineLabel
		if strings.TrimSpace(a.chorus) != "" {
			imputation = a.chorus + " – " + unknownLineLabel
		}
		out = append(out, tableRow{kind: actionRow, cells: append(textCells("", imputation, a.code, a.title), a.numbers...)})
	}
	return append(out, tableRow{kind: totalRow, cells: append(textCells(totalLabel, "", "", ""), total...)})
}

// Filename is the download name of the export of y with extension ext ("csv" or ".xlsx"),
// e.g. "annexe3-47-2020.csv".
func Filename(y budget.Year, ext string) string {
	return filename("annexe3", y.Departement, y.Year, ext)
}

// filename is "<prefix>-<département>-<year>.<ext>". Characters other than letters, digits,
// '-' and '_' in the département code are replaced by '_' so the name is safe in a
// Content-Disposition header.
func filename(prefix, departement string, year int, ext string) string {
	return withExt(fmt.Sprintf("%s-%s-%d", prefix, safeName(departement), year), ext)
}

// safeName replaces the characters of s other than letters, digits, '-' and '_' by '_'.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// withExt adds the extension ext ("csv" or ".csv"; none when empty) to name.
func withExt(name, ext string) string {
	if ext = strings.TrimPrefix(ext, "."); ext != "" {
		name += "." + ext
	}
	return name
}
