// Package export renders the Annexe 3 "Tableau financier récapitulatif" of a year's contracted
// budget as CSV (machine-readable) and XLSX (for people), from a budget.Year.
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

// Column positions, 0-based, shared by both renderings.
const (
	colTheme = iota
	colChorus
	colCode
	colTitle
	colBudget
	colPrenotified
	colStateShare
	colDepartementShare
	colValuation
	colCarryover
	colOtherFunders
	columnCount
)

// textColumns is the number of leading text columns; the others hold money.
const textColumns = colBudget

type rowKind int

const (
	actionRow rowKind = iota
	subtotalRow
	totalRow
)

// row is one line of the table: four texts and seven amounts, an invalid NullDecimal being an
// empty cell (the pre-notified credits of an action row).
type row struct {
	kind  rowKind
	text  [textColumns]string
	money [columnCount - textColumns]decimal.NullDecimal
}

func amountCells(a budget.Amounts, prenotified decimal.NullDecimal) [columnCount - textColumns]decimal.NullDecimal {
	v := func(d decimal.Decimal) decimal.NullDecimal { return decimal.NewNullDecimal(d) }
	return [columnCount - textColumns]decimal.NullDecimal{
		colBudget - textColumns:           v(a.Budget),
		colPrenotified - textColumns:      prenotified,
		colStateShare - textColumns:       v(a.StateShare),
		colDepartementShare - textColumns: v(a.DepartementShare),
		colValuation - textColumns:        v(a.Valuation),
		colCarryover - textColumns:        v(a.Carryover),
		colOtherFunders - textColumns:     v(a.OtherFunders),
	}
}

// rows lays out the table of y, without the header.
func rows(y budget.Year) []row {
	byLine := make(map[string][]budget.ActionSummary, len(y.FundingLines))
	known := make(map[string]bool, len(y.FundingLines))
	for _, f := range y.FundingLines {
		known[f.Chorus] = true
	}
	var orphans []budget.ActionSummary
	for _, a := range y.Actions {
		if known[a.FundingLine] {
			byLine[a.FundingLine] = append(byLine[a.FundingLine], a)
		} else {
			orphans = append(orphans, a)
		}
	}

	out := make([]row, 0, len(y.Actions)+len(y.FundingLines)+1)
	for _, f := range y.FundingLines {
		imputation := f.Chorus
		if f.Label != "" {
			imputation += " – " + f.Label
		}
		actions := byLine[f.Chorus]
		for _, a := range actions {
			out = append(out, row{
				kind:  actionRow,
				text:  [textColumns]string{f.Theme, imputation, a.Code, a.Title},
				money: amountCells(a.Amounts, decimal.NullDecimal{}),
			})
		}
		sub := row{
			kind:  subtotalRow,
			text:  [textColumns]string{f.Theme, subtotalPrefix + f.Chorus, "", ""},
			money: amountCells(f.Actions, decimal.NewNullDecimal(f.Prenotified)),
		}
		if len(actions) == 0 {
			sub.text[colCode], sub.text[colTitle] = noActionLabel, noActionLabel
		}
		out = append(out, sub)
	}
	// Actions whose funding line is missing from the year: kept, without a subtotal.
	for _, a := range orphans {
		imputation := unknownLineLabel
		if strings.TrimSpace(a.FundingLine) != "" {
			imputation = a.FundingLine + " – " + unknownLineLabel
		}
		out = append(out, row{
			kind:  actionRow,
			text:  [textColumns]string{"", imputation, a.Code, a.Title},
			money: amountCells(a.Amounts, decimal.NullDecimal{}),
		})
	}
	out = append(out, row{
		kind:  totalRow,
		text:  [textColumns]string{totalLabel, "", "", ""},
		money: amountCells(y.Totals, decimal.NewNullDecimal(y.Prenotified)),
	})
	return out
}

// Filename is the download name of the export of y with extension ext ("csv" or ".xlsx"),
// e.g. "annexe3-47-2020.csv". Characters other than letters, digits, '-' and '_' in the
// département code are replaced by '_' so the name is safe in a Content-Disposition header.
func Filename(y budget.Year, ext string) string {
	dep := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, y.Departement)
	name := fmt.Sprintf("annexe3-%s-%d", dep, y.Year)
	if ext = strings.TrimPrefix(ext, "."); ext != "" {
		name += "." + ext
	}
	return name
}
