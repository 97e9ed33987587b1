package budget_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The source document sits beside the repository (CI checks shared/ out next to it), and the
// transcription is the file the package embeds.
const (
	seedPath     = "../../../shared/seed/000_6e5c9574a5e7a458.txt"
	documentPath = "data/convention_2020.json"
)

// sourceDocument is the part of convention_2020.json that cites lines of the source.
type sourceDocument struct {
	Years []struct {
		Year                    int                 `json:"year"`
		SourceLine              int                 `json:"source_line"`
		Total                   decimal.NullDecimal `json:"total"`
		TotalSourceLine         *int                `json:"total_source_line"`
		State                   decimal.NullDecimal `json:"state"`
		StateSourceLine         *int                `json:"state_source_line"`
		StateSupport            decimal.NullDecimal `json:"state_support"`
		Departement             decimal.NullDecimal `json:"departement"`
		DepartementSourceLine   *int                `json:"departement_source_line"`
		InitialAmount           decimal.NullDecimal `json:"initial_amount"`
		InitialAmountSourceLine *int                `json:"initial_amount_source_line"`
		Carryover2019           decimal.NullDecimal `json:"carryover_2019"`
		Carryover2019SourceLine *int                `json:"carryover_2019_source_line"`
		Prenotified             decimal.NullDecimal `json:"prenotified"`
		PrenotifiedSourceLine   *int                `json:"prenotified_source_line"`
		Amendments              []struct {
			Amount           decimal.NullDecimal `json:"amount"`
			AmountSourceLine *int                `json:"amount_source_line"`
		} `json:"amendments"`
	} `json:"years"`
	FundingLines []struct {
		Chorus                string          `json:"chorus"`
		SourceLine            int             `json:"source_line"`
		Prenotified           decimal.Decimal `json:"prenotified"`
		PrenotifiedSourceLine *int            `json:"prenotified_source_line"`
		Carryover             decimal.Decimal `json:"carryover"`
		CarryoverSourceLine   *int            `json:"carryover_source_line"`
	} `json:"funding_lines"`
	Actions []sourceAction `json:"actions"`
}

// sourceAction is a fiche with the lines of its Annexe 3 row, its table and its indicators.
type sourceAction struct {
	Code             string              `json:"code"`
	Annexe3Code      string              `json:"annexe3_code"`
	Annexe3Title     string              `json:"annexe3_title"`
	Annexe3Line      int                 `json:"annexe3_line"`
	Annexe3Lines     map[string]*int     `json:"annexe3_lines"`
	FicheSheetLine   int                 `json:"fiche_sheet_line"`
	FicheCodeLine    int                 `json:"fiche_code_line"`
	Budget           decimal.Decimal     `json:"budget"`
	Prenotified      decimal.NullDecimal `json:"prenotified"`
	StateShare       decimal.Decimal     `json:"state_share"`
	DepartementShare decimal.Decimal     `json:"departement_share"`
	Valuation        decimal.Decimal     `json:"valuation"`
	Carryover        decimal.Decimal     `json:"carryover"`
	OtherFunders     decimal.Decimal     `json:"other_funders"`
	FicheTable       struct {
		PrintedTotal *struct {
			Amount      decimal.Decimal `json:"amount"`
			State       decimal.Decimal `json:"state"`
			Departement decimal.Decimal `json:"departement"`
			SourceLine  int             `json:"source_line"`
		} `json:"printed_total"`
		Lines []struct {
			Label                 string          `json:"label"`
			LabelSourceLine       *int            `json:"label_source_line"`
			Amount                decimal.Decimal `json:"amount"`
			AmountSourceLine      *int            `json:"amount_source_line"`
			State                 decimal.Decimal `json:"state"`
			StateSourceLine       *int            `json:"state_source_line"`
			Departement           decimal.Decimal `json:"departement"`
			DepartementSourceLine *int            `json:"departement_source_line"`
			SourceLine            int             `json:"source_line"`
		} `json:"lines"`
	} `json:"fiche_table"`
	Indicators []struct {
		Code     string         `json:"code"`
		Targets  []sourceFigure `json:"targets"`
		Baseline *sourceFigure  `json:"baseline"`
		Period   *sourceFigure  `json:"period_total"`
	} `json:"indicators"`
}

// sourceFigure is a target, a baseline or a period total: a value, or the text printed for it.
type sourceFigure struct {
	Year       int                 `json:"year"`
	Value      decimal.NullDecimal `json:"value"`
	AsPrinted  string              `json:"as_printed"`
	SourceLine int                 `json:"source_line"`
}

// seedText is the source document, one string per line, with U+00A0, U+202F and tabs read as
// plain spaces.
type seedText []string

func readSeed(t *testing.T) seedText {
	t.Helper()
	raw, err := os.ReadFile(seedPath)
	require.NoError(t, err, "the source document must sit beside the repository, at %s", seedPath)
	text := strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\t", " ", "\r", "").Replace(string(raw))
	return strings.Split(text, "\n")
}

func readDocument(t *testing.T) sourceDocument {
	t.Helper()
	raw, err := os.ReadFile(documentPath)
	require.NoError(t, err)
	var doc sourceDocument
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc.Actions, 14)
	return doc
}

// line returns line n (1-based), failing the test when the document has no such line.
func (s seedText) line(t *testing.T, n int) string {
	t.Helper()
	require.True(t, n >= 1 && n <= len(s), "line %d is outside the document (%d lines)", n, len(s))
	return s[n-1]
}

// french writes d as the document prints figures: "170 000", "274 993,43", "50,6", "-60 000".
func french(d decimal.Decimal) string {
	whole, fraction, _ := strings.Cut(d.Abs().String(), ".")
	var b strings.Builder
	if d.IsNegative() {
		b.WriteByte('-')
	}
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(whole[i])
	}
	if fraction != "" {
		b.WriteString("," + fraction)
	}
	return b.String()
}

var (
	// numberBefore: what, just before a figure, makes it the tail of a longer number.
	numberBefore = regexp.MustCompile(`([0-9][ ,.]?|[-+])$`)
	// numberAfter: what, just after a figure, makes it the head of a longer number (more
	// digits, decimals, or another thousands group).
	numberAfter = regexp.MustCompile(`^([0-9]|[,.][0-9]| [0-9]{3}([^0-9]|$))`)
)

// holdsNumber reports whether text prints figure as a whole number: "136 000" is in
// "136 000 €," but not in "47 136 000 €" nor in "136 000,50".
func holdsNumber(text, figure string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], figure)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(figure)
		if !numberBefore.MatchString(text[:start]) && !numberAfter.MatchString(text[end:]) {
			return true
		}
		from = start + 1
	}
}

// afterLabel returns text without the longest tail of label it starts with, so that the
// figures of "JOB 47 136 000 €" (Annexe 3 title "… plateforme JOB 47") read 136 000, not 47 136 000.
func afterLabel(text, label string) string {
	words := strings.Fields(label)
	for k := range words {
		quoted := make([]string, len(words)-k)
		for i, w := range words[k:] {
			quoted[i] = regexp.QuoteMeta(w)
		}
		re := regexp.MustCompile(`^\s*` + strings.Join(quoted, `\s+`) + `(\s|$)`)
		if loc := re.FindStringIndex(text); loc != nil {
			return text[loc[1]:]
		}
	}
	return text
}

// collapse joins whitespace runs into single spaces and trims.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// checker checks figures against the lines the JSON cites.
type checker struct {
	t    *testing.T
	seed seedText
}

// amount checks that d is printed on line n (after label, when the line starts with it); a
// zero may be printed "0" or "0 €".
func (c checker) amount(what string, d decimal.Decimal, n int, label string) {
	c.t.Helper()
	text := afterLabel(c.seed.line(c.t, n), label)
	assert.True(c.t, holdsNumber(text, french(d)), "%s: %s is not printed on line %d: %q", what, french(d), n, text)
}

// optional checks d on line n when the JSON gives a line (a nil line means "not printed").
func (c checker) optional(what string, d decimal.Decimal, n *int, label string) {
	c.t.Helper()
	if n != nil {
		c.amount(what, d, *n, label)
	}
}

// nonZero checks d on line n unless it is zero: chapter III tables leave zero shares blank.
func (c checker) nonZero(what string, d decimal.Decimal, n int, label string) {
	c.t.Helper()
	if !d.IsZero() {
		c.amount(what, d, n, label)
	}
}

// token checks that word is printed on line n as a word of its own.
func (c checker) token(what, word string, n int) {
	c.t.Helper()
	text := c.seed.line(c.t, n)
	re := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(word) + `(\s|$)`)
	assert.True(c.t, re.MatchString(text), "%s: %q is not on line %d: %q", what, word, n, text)
}

// printedText checks that text begins on line n (it may run onto the next four lines).
func (c checker) printedText(what, text string, n int) {
	c.t.Helper()
	first := collapse(c.seed.line(c.t, n))
	window := first
	for next := n + 1; next <= min(n+4, len(c.seed)); next++ {
		window += " " + collapse(c.seed[next-1])
	}
	i := strings.Index(collapse(window), collapse(text))
	assert.True(c.t, i >= 0 && i < len(first), "%s: %q does not begin on line %d: %q", what, text, n, first)
}

func TestDocumentFiguresAreOnTheLinesTheyCite(t *testing.T) {
	doc := readDocument(t)
	c := checker{t: t, seed: readSeed(t)}

	for _, a := range doc.Actions {
		t.Run("fiche "+a.Code, func(t *testing.T) {
			c := checker{t: t, seed: c.seed}
			checkAnnexe3Row(c, a)
			checkFicheTable(c, a)
			checkIndicators(c, a)
		})
	}
	t.Run("funding lines", func(t *testing.T) {
		c := checker{t: t, seed: c.seed}
		for _, f := range doc.FundingLines {
			assert.Contains(t, c.seed.line(t, f.SourceLine), f.Chorus)
			c.optional(f.Chorus+" pre-notified", f.Prenotified, f.PrenotifiedSourceLine, "")
			c.optional(f.Chorus+" carry-over", f.Carryover, f.CarryoverSourceLine, "")
		}
	})
	t.Run("years", func(t *testing.T) {
		c := checker{t: t, seed: c.seed}
		for _, y := range doc.Years {
			lineOr := func(n *int) *int {
				if n != nil {
					return n
				}
				return &y.SourceLine
			}
			for _, fig := range []struct {
				what  string
				value decimal.NullDecimal
				line  *int
			}{
				{"total", y.Total, lineOr(y.TotalSourceLine)},
				{"State", y.State, lineOr(y.StateSourceLine)},
				{"State support", y.StateSupport, &y.SourceLine},
				{"département", y.Departement, lineOr(y.DepartementSourceLine)},
				{"initial amount", y.InitialAmount, lineOr(y.InitialAmountSourceLine)},
				{"2019 carry-over", y.Carryover2019, lineOr(y.Carryover2019SourceLine)},
				{"pre-notified", y.Prenotified, lineOr(y.PrenotifiedSourceLine)},
			} {
				if fig.value.Valid {
					c.amount(fmt.Sprintf("%d %s", y.Year, fig.what), fig.value.Decimal, *fig.line, "")
				}
			}
			for _, am := range y.Amendments {
				if am.Amount.Valid {
					c.optional(fmt.Sprintf("%d amendment", y.Year), am.Amount.Decimal, am.AmountSourceLine, "")
				}
			}
		}
	})
}

// checkAnnexe3Row checks the fiche's Annexe 3 figures on the lines annexe3_lines gives.
func checkAnnexe3Row(c checker, a sourceAction) {
	c.t.Helper()
	lines := a.Annexe3Lines
	require.NotNil(c.t, lines["budget"], "annexe3_lines.budget")
	assert.Equal(c.t, a.Annexe3Line, *lines["budget"], "annexe3_line is the line of the budget")
	code := a.Annexe3Code
	if code == "" {
		code = a.Code
	}
	if n := lines["code"]; n != nil {
		c.token("Annexe 3 code", code, *n)
	}
	figures := map[string]decimal.Decimal{"budget": a.Budget, "state_share": a.StateShare,
		"departement_share": a.DepartementShare, "valuation": a.Valuation, "carryover": a.Carryover,
		"other_funders": a.OtherFunders}
	if a.Prenotified.Valid {
		figures["prenotified"] = a.Prenotified.Decimal
	}
	for field, value := range figures {
		c.optional("Annexe 3 "+field, value, lines[field], a.Annexe3Title)
	}
	for field := range lines {
		_, known := figures[field]
		assert.True(c.t, known || field == "code", "annexe3_lines.%s has no figure to check", field)
	}
}

// checkFicheTable checks the sheet's header lines, every budget line and the printed totals.
func checkFicheTable(c checker, a sourceAction) {
	c.t.Helper()
	assert.Regexp(c.t, `Fiche `+regexp.QuoteMeta(a.Code)+`\s`, c.seed.line(c.t, a.FicheSheetLine))
	assert.Regexp(c.t, `N°`+strings.ReplaceAll(regexp.QuoteMeta(a.Code), `\.`, `[.-]`)+`\s*$`,
		c.seed.line(c.t, a.FicheCodeLine))
	for _, l := range a.FicheTable.Lines {
		at := func(n *int) int {
			if n != nil {
				return *n
			}
			return l.SourceLine
		}
		first := collapse(c.seed.line(c.t, at(l.LabelSourceLine)))
		assert.True(c.t, strings.HasPrefix(l.Label, first) || strings.HasPrefix(first, l.Label),
			"label %q does not begin on line %d: %q", l.Label, at(l.LabelSourceLine), first)
		c.amount(l.Label+" amount", l.Amount, at(l.AmountSourceLine), l.Label)
		c.nonZero(l.Label+" State", l.State, at(l.StateSourceLine), l.Label)
		c.nonZero(l.Label+" département", l.Departement, at(l.DepartementSourceLine), l.Label)
	}
	if p := a.FicheTable.PrintedTotal; p != nil {
		assert.Regexp(c.t, `^\s*Total\s`, c.seed.line(c.t, p.SourceLine))
		c.amount("printed total", p.Amount, p.SourceLine, "")
		c.nonZero("printed State total", p.State, p.SourceLine, "")
		c.nonZero("printed département total", p.Departement, p.SourceLine, "")
	}
}

// checkIndicators checks every target, baseline and period total on its line: its printed
// text when the JSON keeps one, else its value. Targets of several years on one line are each
// printed there ("-100 000 € -200 000", or "66 … par an" once for every year), or they are a
// row of cells that reads as one number ("100 100 100").
func checkIndicators(c checker, a sourceAction) {
	c.t.Helper()
	for _, ind := range a.Indicators {
		rows := map[int][]string{}
		for _, tg := range ind.Targets {
			if tg.AsPrinted != "" {
				c.printedText(fmt.Sprintf("%s %d", ind.Code, tg.Year), tg.AsPrinted, tg.SourceLine)
				continue
			}
			require.True(c.t, tg.Value.Valid, "%s %d has neither value nor as_printed", ind.Code, tg.Year)
			rows[tg.SourceLine] = append(rows[tg.SourceLine], french(tg.Value.Decimal))
		}
		for n, cells := range rows {
			text := c.seed.line(c.t, n)
			each := !slices.ContainsFunc(cells, func(cell string) bool { return !holdsNumber(text, cell) })
			assert.True(c.t, each || holdsNumber(text, strings.Join(cells, " ")),
				"%s: targets %v are not printed on line %d: %q", ind.Code, cells, n, text)
		}
		for _, fig := range []*sourceFigure{ind.Baseline, ind.Period} {
			switch {
			case fig == nil:
			case fig.AsPrinted != "" && !fig.Value.Valid:
				c.printedText(ind.Code, fig.AsPrinted, fig.SourceLine)
			default:
				c.amount(ind.Code, fig.Value.Decimal, fig.SourceLine, "")
			}
		}
	}
}

func TestDocumentAnnexe3Totals(t *testing.T) {
	doc := readDocument(t)
	var budget, state, departement, carryover, prenotified decimal.Decimal
	for _, a := range doc.Actions {
		budget = budget.Add(a.Budget)
		state = state.Add(a.StateShare)
		departement = departement.Add(a.DepartementShare)
		carryover = carryover.Add(a.Carryover)
	}
	for _, f := range doc.FundingLines {
		prenotified = prenotified.Add(f.Prenotified)
	}
	// The totals row of Annexe 3 (l.4385), also the introduction (l.108, l.172, l.269).
	for name, pair := range map[string][2]decimal.Decimal{
		"budget":       {decimal.RequireFromString("1936652"), budget},
		"State":        {decimal.RequireFromString("650732"), state},
		"département":  {decimal.RequireFromString("742977"), departement},
		"carry-over":   {decimal.RequireFromString("542943"), carryover},
		"pre-notified": {decimal.RequireFromString("802232.79"), prenotified},
	} {
		assert.True(t, pair[0].Equal(pair[1]), "Annexe 3 %s: the JSON adds up to %s, the document prints %s", name, pair[1], pair[0])
	}
}

func TestHoldsNumberMatchesWholeNumbersOnly(t *testing.T) {
	for _, tc := range []struct {
		text, figure string
		want         bool
	}{
		{"170 000 €, 67 900 €, 67 900 €,", "67 900", true},
		{"JOB 47 136 000 €,", "136 000", false},
		{afterLabel("JOB 47 136 000 €,", "Optimisation de la plateforme JOB 47"), "136 000", true},
		{"274 993,43 ", "274 993", false},
		{"274 993,43 ", "274 993,43", true},
		{"0 0 0 0 €,", "0", true},
		{"50 000 €, 0 €,", "0", true},
		{"50 000 €,", "0", false},
		{"100 100 100 ", "100", false},
		{"100 100 100 ", "100 100 100", true},
		{"Dépense rSa 57 754 527 €, -60 000 ", "-60 000", true},
		{"Dépense rSa 57 754 527 €, -60 000 ", "60 000", false},
		{"soit 20 jeunes", "20", true},
		{"pour un pool de 7 ", "70", false},
	} {
		assert.Equal(t, tc.want, holdsNumber(tc.text, tc.figure), "%q in %q", tc.figure, tc.text)
	}
	assert.Equal(t, "274 993,43", french(decimal.RequireFromString("274993.43")))
	assert.Equal(t, "1 936 652", french(decimal.RequireFromString("1936652.00")))
	assert.Equal(t, "-60 000", french(decimal.RequireFromString("-60000.00")))
	assert.Equal(t, "50,6", french(decimal.RequireFromString("50.6")))
	assert.Equal(t, "0", french(decimal.RequireFromString("0.00")))
}
