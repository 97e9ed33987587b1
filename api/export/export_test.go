package export_test

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"parcours/api/export"
	"parcours/services/budget"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func amounts(b, state, cd, valuation, carryover, other string) budget.Amounts {
	return budget.Amounts{Budget: d(b), StateShare: d(state), DepartementShare: d(cd),
		Valuation: d(valuation), Carryover: d(carryover), OtherFunders: d(other)}
}

const (
	chorus07 = "0304 50 19 19 07"
	chorus11 = "0304 50 19 19 11"
	chorus10 = "0304 50 19 19 10"
)

// fixture is a 2020 budget shaped like the Lot-et-Garonne Annexe 3: two funding lines with
// actions around one without any. The sums are set by hand, as the service sums them in SQL.
// The funding line 07 carries over 295 000 € while its actions only account for 235 000 €:
// the subtotal must show the actions' carry-over.
func fixture() budget.Year {
	return budget.Year{
		Year:         2020,
		Departement:  "47",
		StateSupport: d("650732.00"),
		Actions: []budget.ActionSummary{
			{Code: "3.1", Title: "Orientation", Category: "socle", FundingLine: chorus07,
				Amounts: amounts("133700.00", "25000.00", "33700.00", "12000.50", "75000.00", "0")},
			{Code: "4.4", Title: "Cumul RSA activité agricole ou agro-alimentaire", Category: "socle", FundingLine: chorus07,
				Amounts: amounts("215000", "15000", "40000", "0", "160000", "0")},
			{Code: "6.1", Title: "Optimisation de la plateforme JOB 47", Category: "cil", FundingLine: chorus10,
				Amounts: amounts("136000.00", "68000.00", "68000.00", "0.00", "0.00", "1234.56")},
			{Code: "6.2", Title: "Mesures d'accompagnement social, Santé/social", Category: "cil", FundingLine: chorus10,
				Amounts: amounts("469000.00", "106339.00", "139718.00", "0.00", "222943.00", "0.00")},
		},
		FundingLines: []budget.FundingLine{
			{Chorus: chorus07, Label: "Garantie d'activité et insertion des BRSA", Theme: "Insertion des allocataires du RSA",
				Prenotified: d("274993.43"), Carryover: d("295000.00"), ActionCodes: []string{"3.1", "4.4"},
				Actions: amounts("348700.00", "40000.00", "73700.00", "12000.50", "235000.00", "0.00")},
			{Chorus: chorus11, Label: "Formation des professionnels de la petite enfance",
				Theme:       "Innovation pour la formation des professionnels de la petite enfance",
				Prenotified: d("15000.00"), Actions: amounts("0", "0", "0", "0", "0", "0")},
			{Chorus: chorus10, Label: "Initiatives locales", Theme: "Engagements à l'initiative du département",
				Prenotified: d("249339.36"), Carryover: d("222943.00"), ActionCodes: []string{"6.1", "6.2"},
				Actions: amounts("605000.00", "174339.00", "207718.00", "0.00", "222943.00", "1234.56")},
		},
		Totals:      amounts("953700.00", "214339.00", "281418.00", "12000.50", "457943.00", "1234.56"),
		Prenotified: d("539332.79"),
	}
}

// withOrphans adds two actions whose funding line is not among the year's, and counts them in
// the grand total as the SQL sum over all actions does.
func withOrphans() budget.Year {
	y := fixture()
	y.Actions = append(y.Actions,
		budget.ActionSummary{Code: "9.1", Title: "Action égarée", FundingLine: "0304 50 19 19 99",
			Amounts: amounts("1000.00", "500.00", "500.00", "0", "0", "0")},
		budget.ActionSummary{Code: "9.2", Title: "Action sans imputation",
			Amounts: amounts("10.00", "5.00", "5.00", "0", "0", "0")})
	y.Totals = amounts("954710.00", "214844.00", "281923.00", "12000.50", "457943.00", "1234.56")
	return y
}

var wantHeader = []string{"Thème", "Imputation Chorus", "Fiche", "Intitulé de l'action", "Budget global",
	"Crédits État pré-notifiés", "Participation État", "Participation CD", "dont valorisation",
	"Report 2019", "Autres financeurs"}

// wantFixture is the whole table of fixture(), header excluded.
var wantFixture = [][]string{
	{"Insertion des allocataires du RSA", chorus07 + " – Garantie d'activité et insertion des BRSA", "3.1", "Orientation",
		"133700.00", "", "25000.00", "33700.00", "12000.50", "75000.00", "0.00"},
	{"Insertion des allocataires du RSA", chorus07 + " – Garantie d'activité et insertion des BRSA", "4.4", "Cumul RSA activité agricole ou agro-alimentaire",
		"215000.00", "", "15000.00", "40000.00", "0.00", "160000.00", "0.00"},
	{"Insertion des allocataires du RSA", "Sous-total " + chorus07, "", "",
		"348700.00", "274993.43", "40000.00", "73700.00", "12000.50", "235000.00", "0.00"},
	{"Innovation pour la formation des professionnels de la petite enfance", "Sous-total " + chorus11, "Aucune action programmée", "Aucune action programmée",
		"0.00", "15000.00", "0.00", "0.00", "0.00", "0.00", "0.00"},
	{"Engagements à l'initiative du département", chorus10 + " – Initiatives locales", "6.1", "Optimisation de la plateforme JOB 47",
		"136000.00", "", "68000.00", "68000.00", "0.00", "0.00", "1234.56"},
	{"Engagements à l'initiative du département", chorus10 + " – Initiatives locales", "6.2", "Mesures d'accompagnement social, Santé/social",
		"469000.00", "", "106339.00", "139718.00", "0.00", "222943.00", "0.00"},
	{"Engagements à l'initiative du département", "Sous-total " + chorus10, "", "",
		"605000.00", "249339.36", "174339.00", "207718.00", "0.00", "222943.00", "1234.56"},
	{"TOTAUX FINANCIERS", "", "", "",
		"953700.00", "539332.79", "214339.00", "281418.00", "12000.50", "457943.00", "1234.56"},
}

func renderCSV(t *testing.T, y budget.Year) (raw []byte, records [][]string) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, export.WriteCSV(&buf, y))
	records, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll() // also checks every record has the header's width
	require.NoError(t, err)
	return buf.Bytes(), records
}

func renderXLSX(t *testing.T, y budget.Year) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, export.WriteXLSX(&buf, y))
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// rowByLabel finds the record whose column col holds label.
func rowByLabel(t *testing.T, records [][]string, col int, label string) []string {
	t.Helper()
	for _, r := range records {
		if r[col] == label {
			return r
		}
	}
	t.Fatalf("no row with %q in column %d", label, col)
	return nil
}

func TestWriteCSV(t *testing.T) {
	raw, records := renderCSV(t, fixture())

	assert.True(t, bytes.HasPrefix(raw, []byte("Thème,")), "UTF-8 without BOM, header first: %q", raw[:12])
	require.Len(t, records, 1+4+3+1, "header, 4 actions, 3 subtotals (one empty line), grand total")
	assert.Equal(t, wantHeader, records[0])
	assert.Equal(t, wantFixture, records[1:])

	amount := regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)
	for i, r := range records[1:] {
		for c := 4; c < len(r); c++ {
			if c == 5 && r[2] != "" && r[2] != "Aucune action programmée" {
				assert.Empty(t, r[c], "row %d: no pre-notified credits on an action row", i+1)
				continue
			}
			assert.Regexp(t, amount, r[c], "row %d column %q", i+1, records[0][c])
		}
	}
}

func TestWriteCSVSubtotalsAndTotals(t *testing.T) {
	_, records := renderCSV(t, fixture())
	tests := []struct {
		name   string
		col    int
		label  string
		values []string // Budget … Autres financeurs
	}{
		{"line 07 with its actions' carry-over, not the line's", 1, "Sous-total " + chorus07,
			[]string{"348700.00", "274993.43", "40000.00", "73700.00", "12000.50", "235000.00", "0.00"}},
		{"empty line 11 keeps its pre-notified credits", 1, "Sous-total " + chorus11,
			[]string{"0.00", "15000.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
		{"line 10", 1, "Sous-total " + chorus10,
			[]string{"605000.00", "249339.36", "174339.00", "207718.00", "0.00", "222943.00", "1234.56"}},
		{"grand total", 0, "TOTAUX FINANCIERS",
			[]string{"953700.00", "539332.79", "214339.00", "281418.00", "12000.50", "457943.00", "1234.56"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.values, rowByLabel(t, records, tt.col, tt.label)[4:])
		})
	}
	assert.Equal(t, "TOTAUX FINANCIERS", records[len(records)-1][0], "the grand total is the last row")
	empty := rowByLabel(t, records, 1, "Sous-total "+chorus11)
	assert.Equal(t, []string{"Aucune action programmée", "Aucune action programmée"}, empty[2:4])
}

// The export prints the sums it is given: nothing is added up again in Go.
func TestWriteCSVPrintsTheYearSums(t *testing.T) {
	y := fixture()
	y.FundingLines[0].Actions.Budget = d("1.00")
	y.Totals.Budget = d("2.00")
	y.Prenotified = d("3.00")
	_, records := renderCSV(t, y)
	assert.Equal(t, "1.00", rowByLabel(t, records, 1, "Sous-total "+chorus07)[4])
	total := rowByLabel(t, records, 0, "TOTAUX FINANCIERS")
	assert.Equal(t, []string{"2.00", "3.00"}, total[4:6])
}

func TestRowCounts(t *testing.T) {
	tests := []struct {
		name string
		year budget.Year
		rows int // without the header
	}{
		{"fixture", fixture(), 8},
		{"orphan actions kept", withOrphans(), 10},
		{"empty year: the grand total alone", budget.Year{Year: 2021, Departement: "47"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, records := renderCSV(t, tt.year)
			assert.Len(t, records, 1+tt.rows)
			rows, err := renderXLSX(t, tt.year).GetRows("Annexe 3")
			require.NoError(t, err)
			assert.Len(t, rows, 2+tt.rows, "title, header, table")
		})
	}
}

func TestOrphanActionsAreKeptBeforeTheGrandTotal(t *testing.T) {
	_, records := renderCSV(t, withOrphans())
	n := len(records)
	assert.Equal(t, "Sous-total "+chorus10, records[n-4][1], "orphans follow the last subtotal")
	assert.Equal(t, []string{"", "0304 50 19 19 99 – imputation inconnue", "9.1", "Action égarée",
		"1000.00", "", "500.00", "500.00", "0.00", "0.00", "0.00"}, records[n-3])
	assert.Equal(t, []string{"", "imputation inconnue", "9.2", "Action sans imputation",
		"10.00", "", "5.00", "5.00", "0.00", "0.00", "0.00"}, records[n-2])
	assert.Equal(t, []string{"TOTAUX FINANCIERS", "", "", "",
		"954710.00", "539332.79", "214844.00", "281923.00", "12000.50", "457943.00", "1234.56"}, records[n-1])
}

func TestCarryoverHeaderNamesThePreviousYear(t *testing.T) {
	_, records := renderCSV(t, budget.Year{Year: 2021, Departement: "47"})
	assert.Equal(t, "Report 2020", records[0][9])
}

func TestWriteXLSX(t *testing.T) {
	f := renderXLSX(t, fixture())
	const sheet = "Annexe 3"
	assert.Equal(t, []string{sheet}, f.GetSheetList())

	title, err := f.GetCellValue(sheet, "A1")
	require.NoError(t, err)
	assert.Equal(t, "Annexe 3 — Tableau financier récapitulatif 2020, département 47", title)

	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Len(t, rows, 2+len(wantFixture))
	assert.Equal(t, wantHeader, rows[1])
	headerStyle := style(t, f, "A2")
	assert.True(t, headerStyle.Font != nil && headerStyle.Font.Bold, "bold header")
	assert.True(t, headerStyle.Alignment != nil && headerStyle.Alignment.WrapText, "wrapped header")

	for i, want := range wantFixture {
		n := 3 + i
		for c, w := range want {
			ref, _ := excelize.CoordinatesToCellName(c+1, n)
			typ, err := f.GetCellType(sheet, ref)
			require.NoError(t, err)
			raw, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
			require.NoError(t, err)
			if c < 4 || w == "" {
				assert.Equal(t, w, raw, ref)
				if w != "" {
					assert.Contains(t, []excelize.CellType{excelize.CellTypeSharedString, excelize.CellTypeInlineString}, typ, "%s is text", ref)
				}
				continue
			}
			// A number cell has no string type (t="n" or no t attribute) and a numeric value.
			assert.Contains(t, []excelize.CellType{excelize.CellTypeNumber, excelize.CellTypeUnset}, typ, "%s is a number, not text", ref)
			got, err := decimal.NewFromString(raw)
			require.NoError(t, err, "%s holds %q", ref, raw)
			assert.True(t, d(w).Equal(got), "%s: want %s, got %s", ref, w, raw)
			s := style(t, f, ref)
			require.NotNil(t, s.CustomNumFmt, "%s has a custom number format", ref)
			assert.Equal(t, `#,##0.00\ "€"`, *s.CustomNumFmt, ref)
		}
	}

	// Formatted as a reader sees it.
	shown, err := f.GetCellValue(sheet, "E10")
	require.NoError(t, err)
	assert.Contains(t, shown, "€")

	tests := []struct {
		name            string
		row             int
		bold, topBorder bool
	}{
		{"action", 3, false, false},
		{"subtotal 07", 5, true, false},
		{"subtotal of the empty line", 6, true, false},
		{"subtotal 10", 9, true, false},
		{"grand total", 10, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, col := range []string{"A", "D", "E", "K"} {
				s := style(t, f, col+strconv.Itoa(tt.row))
				assert.Equal(t, tt.bold, s.Font != nil && s.Font.Bold, "%s%d bold", col, tt.row)
				hasTop := false
				for _, b := range s.Border {
					hasTop = hasTop || (b.Type == "top" && b.Style > 0)
				}
				assert.Equal(t, tt.topBorder, hasTop, "%s%d top border", col, tt.row)
			}
		})
	}

	panes, err := f.GetPanes(sheet)
	require.NoError(t, err)
	assert.True(t, panes.Freeze)
	assert.Equal(t, 2, panes.YSplit, "frozen under the header")
	assert.Equal(t, "A3", panes.TopLeftCell)

	for col, least := range map[string]float64{"B": 30, "D": 40, "E": 12, "K": 12} {
		w, err := f.GetColWidth(sheet, col)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, w, least, "width of column %s", col)
	}
}

func style(t *testing.T, f *excelize.File, ref string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle("Annexe 3", ref)
	require.NoError(t, err)
	s, err := f.GetStyle(id)
	require.NoError(t, err)
	return s
}

// The two renderings carry the same table: same texts, same amounts, row for row.
func TestCSVAndXLSXCarryTheSameTable(t *testing.T) {
	for name, y := range map[string]budget.Year{"fixture": fixture(), "orphans": withOrphans()} {
		t.Run(name, func(t *testing.T) {
			_, records := renderCSV(t, y)
			f := renderXLSX(t, y)
			rows, err := f.GetRows("Annexe 3", excelize.Options{RawCellValue: true})
			require.NoError(t, err)
			require.Len(t, rows, len(records)+1, "the XLSX has a title row more")
			for i, rec := range records {
				row := append(rows[i+1], make([]string, len(rec))...)[:len(rec)] // GetRows drops trailing empty cells
				for c := range rec {
					if i == 0 || c < 4 || rec[c] == "" {
						assert.Equal(t, rec[c], row[c], "row %d column %d", i, c)
						continue
					}
					x, err := decimal.NewFromString(row[c])
					require.NoError(t, err)
					assert.True(t, d(rec[c]).Equal(x), "row %d column %d: csv %s, xlsx %s", i, c, rec[c], row[c])
				}
			}
			last := records[len(records)-1]
			assert.Equal(t, "TOTAUX FINANCIERS", last[0])
			assert.Equal(t, y.Totals.Budget.StringFixed(2), last[4])
			assert.Equal(t, y.Prenotified.StringFixed(2), last[5])
		})
	}
}

func TestFilename(t *testing.T) {
	tests := []struct {
		dep  string
		year int
		ext  string
		want string
	}{
		{"47", 2020, "csv", "annexe3-47-2020.csv"},
		{"47", 2020, ".xlsx", "annexe3-47-2020.xlsx"},
		{"2A", 2021, "csv", "annexe3-2A-2021.csv"},
		{"47", 2020, "", "annexe3-47-2020"},
		{`4"7/`, 2020, "csv", "annexe3-4_7_-2020.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, export.Filename(budget.Year{Year: tt.year, Departement: tt.dep}, tt.ext))
		})
	}
}

func TestContentTypes(t *testing.T) {
	assert.True(t, strings.HasPrefix(export.CSVContentType, "text/csv"))
	assert.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", export.XLSXContentType)
}
