package api

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/api/export"
	"parcours/services"
	"parcours/services/budget"
	"parcours/services/indicators"
)

type amountsDTO struct {
	Budget           string `json:"budget"`
	StateShare       string `json:"state_share"`
	DepartementShare string `json:"departement_share"`
	Valuation        string `json:"valuation"`
	Carryover        string `json:"carryover"`
	OtherFunders     string `json:"other_funders"`
}

func toAmountsDTO(a budget.Amounts) amountsDTO {
	return amountsDTO{Budget: moneyString(a.Budget), StateShare: moneyString(a.StateShare),
		DepartementShare: moneyString(a.DepartementShare), Valuation: moneyString(a.Valuation),
		Carryover: moneyString(a.Carryover), OtherFunders: moneyString(a.OtherFunders)}
}

type actionSummaryDTO struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	Category    string `json:"category"`
	FundingLine string `json:"funding_line"`
	amountsDTO
	Version int `json:"version"`
}

func toActionSummaryDTO(a budget.ActionSummary) actionSummaryDTO {
	return actionSummaryDTO{Code: a.Code, Title: a.Title, Category: a.Category, FundingLine: a.FundingLine,
		amountsDTO: toAmountsDTO(a.Amounts), Version: a.Version}
}

type fundingLineDTO struct {
	ID          int64      `json:"id"`
	Year        int        `json:"year"`
	Chorus      string     `json:"chorus"`
	Label       string     `json:"label"`
	Theme       string     `json:"theme"`
	Prenotified string     `json:"prenotified"`
	Carryover   string     `json:"carryover"`
	Actions     []string   `json:"actions"`
	Totals      amountsDTO `json:"totals"`
	Version     int        `json:"version"`
}

func toFundingLineDTO(f budget.FundingLine) fundingLineDTO {
	codes := f.ActionCodes
	if codes == nil {
		codes = []string{}
	}
	return fundingLineDTO{ID: f.ID, Year: f.Year, Chorus: f.Chorus, Label: f.Label, Theme: f.Theme,
		Prenotified: moneyString(f.Prenotified), Carryover: moneyString(f.Carryover), Actions: codes,
		Totals: toAmountsDTO(f.Actions), Version: f.Version}
}

type yearTotalsDTO struct {
	amountsDTO
	Prenotified string `json:"prenotified"`
}

type conventionDTO struct {
	Name        string `json:"name"`
	PeriodStart int    `json:"period_start"`
	PeriodEnd   int    `json:"period_end"`
	SignedOn    string `json:"signed_on"`
}

type amendmentDTO struct {
	Number   int     `json:"number"`
	Year     int     `json:"year"`
	SignedOn string  `json:"signed_on"`
	Amount   *string `json:"amount"`
}

type conventionYearDTO struct {
	Year         int                `json:"year"`
	Departement  string             `json:"departement"`
	Convention   conventionDTO      `json:"convention"`
	StateSupport string             `json:"state_support"`
	Amendments   []amendmentDTO     `json:"amendments"`
	Actions      []actionSummaryDTO `json:"actions"`
	FundingLines []fundingLineDTO   `json:"funding_lines"`
	Totals       yearTotalsDTO      `json:"totals"`
}

func toConventionYearDTO(y budget.Year) conventionYearDTO {
	out := conventionYearDTO{
		Year: y.Year, Departement: y.Departement, StateSupport: moneyString(y.StateSupport),
		Convention: conventionDTO{Name: y.Convention.Name, PeriodStart: y.Convention.PeriodStart,
			PeriodEnd: y.Convention.PeriodEnd, SignedOn: y.Convention.SignedOn.Format(time.DateOnly)},
		Amendments:   make([]amendmentDTO, len(y.Amendments)),
		Actions:      make([]actionSummaryDTO, len(y.Actions)),
		FundingLines: make([]fundingLineDTO, len(y.FundingLines)),
		Totals:       yearTotalsDTO{amountsDTO: toAmountsDTO(y.Totals), Prenotified: moneyString(y.Prenotified)},
	}
	for i, a := range y.Amendments {
		out.Amendments[i] = amendmentDTO{Number: a.Number, Year: a.Year, SignedOn: a.SignedOn.Format(time.DateOnly)}
		if a.Amount.Valid {
			s := moneyString(a.Amount.Decimal)
			out.Amendments[i].Amount = &s
		}
	}
	for i, a := range y.Actions {
		out.Actions[i] = toActionSummaryDTO(a)
	}
	for i, f := range y.FundingLines {
		out.FundingLines[i] = toFundingLineDTO(f)
	}
	return out
}

type sheetTotalsDTO struct {
	Amount      string `json:"amount"`
	State       string `json:"state"`
	Departement string `json:"departement"`
	Other       string `json:"other"`
}

type budgetLineDTO struct {
	ID               int64  `json:"id"`
	ActionCode       string `json:"action_code"`
	Year             int    `json:"year"`
	Label            string `json:"label"`
	Amount           string `json:"amount"`
	StateShare       string `json:"state_share"`
	DepartementShare string `json:"departement_share"`
	OtherShare       string `json:"other_share"`
	Version          int    `json:"version"`
}

func toBudgetLineDTO(l budget.BudgetLine) budgetLineDTO {
	return budgetLineDTO{ID: l.ID, ActionCode: l.ActionCode, Year: l.Year, Label: l.Label,
		Amount: moneyString(l.Amount), StateShare: moneyString(l.StateShare),
		DepartementShare: moneyString(l.DepartementShare), OtherShare: moneyString(l.OtherShare), Version: l.Version}
}

type actionDTO struct {
	actionSummaryDTO
	Year        int             `json:"year"`
	SheetTotal  *sheetTotalsDTO `json:"sheet_total"`
	BudgetLines []budgetLineDTO `json:"budget_lines"`
	Indicators  []indicatorDTO  `json:"indicators"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func toActionDTO(a budget.Action, inds []indicators.Indicator) actionDTO {
	out := actionDTO{actionSummaryDTO: toActionSummaryDTO(a.ActionSummary), Year: a.Year,
		BudgetLines: make([]budgetLineDTO, len(a.Lines)), Indicators: make([]indicatorDTO, len(inds)),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
	if s := a.Sheet; s != nil {
		out.SheetTotal = &sheetTotalsDTO{Amount: moneyString(s.Amount), State: moneyString(s.State),
			Departement: moneyString(s.Departement), Other: moneyString(s.Other)}
	}
	for i, l := range a.Lines {
		out.BudgetLines[i] = toBudgetLineDTO(l)
	}
	for i, ind := range inds {
		out.Indicators[i] = toIndicatorDTO(ind)
	}
	return out
}

type findingDTO struct {
	Severity   string  `json:"severity"`
	Action     *string `json:"action"`
	Rule       string  `json:"rule"`
	Subject    string  `json:"subject"`
	Expected   *string `json:"expected"`
	Found      *string `json:"found"`
	Difference *string `json:"difference"`
	Message    string  `json:"message"`
}

type noteDTO struct {
	Action  *string `json:"action"`
	Rule    string  `json:"rule"`
	Message string  `json:"message"`
}

type checkDTO struct {
	Year     int          `json:"year"`
	Findings []findingDTO `json:"findings"`
	Notes    []noteDTO    `json:"notes"`
}

func toCheckDTO(r budget.CheckResult) checkDTO {
	out := checkDTO{Year: r.Year, Findings: make([]findingDTO, len(r.Findings)), Notes: make([]noteDTO, len(r.Notes))}
	for i, f := range r.Findings {
		out.Findings[i] = findingDTO{Severity: f.Severity, Action: nullable(f.Action), Rule: f.Rule, Subject: f.Subject,
			Expected: nullable(f.Expected), Found: nullable(f.Found), Difference: nullable(f.Difference), Message: f.Message}
	}
	for i, n := range r.Notes {
		out.Notes[i] = noteDTO{Action: nullable(n.Action), Rule: n.Rule, Message: n.Message}
	}
	return out
}

type actionRequest struct {
	Code             Optional[string] `json:"code"`
	Title            Optional[string] `json:"title"`
	Category         Optional[string] `json:"category"`
	FundingLine      Optional[string] `json:"funding_line"`
	Budget           Optional[string] `json:"budget"`
	StateShare       Optional[string] `json:"state_share"`
	DepartementShare Optional[string] `json:"departement_share"`
	Valuation        Optional[string] `json:"valuation"`
	Carryover        Optional[string] `json:"carryover"`
	OtherFunders     Optional[string] `json:"other_funders"`
}

func (r actionRequest) input(v *services.Validator) budget.ActionInput {
	return budget.ActionInput{
		Title: optText(v, "title", r.Title), Category: optText(v, "category", r.Category),
		FundingLine: optText(v, "funding_line", r.FundingLine),
		Budget:      optMoney(v, "budget", r.Budget), StateShare: optMoney(v, "state_share", r.StateShare),
		DepartementShare: optMoney(v, "departement_share", r.DepartementShare),
		Valuation:        optMoney(v, "valuation", r.Valuation), Carryover: optMoney(v, "carryover", r.Carryover),
		OtherFunders: optMoney(v, "other_funders", r.OtherFunders),
	}
}

type fundingLineRequest struct {
	Chorus      Optional[string] `json:"chorus"`
	Label       Optional[string] `json:"label"`
	Theme       Optional[string] `json:"theme"`
	Prenotified Optional[string] `json:"prenotified"`
	Carryover   Optional[string] `json:"carryover"`
}

func (r fundingLineRequest) input(v *services.Validator) budget.FundingLineInput {
	return budget.FundingLineInput{Chorus: optText(v, "chorus", r.Chorus), Label: optText(v, "label", r.Label),
		Theme: optText(v, "theme", r.Theme), Prenotified: optMoney(v, "prenotified", r.Prenotified),
		Carryover: optMoney(v, "carryover", r.Carryover)}
}

type budgetLineRequest struct {
	Label            Optional[string] `json:"label"`
	Amount           Optional[string] `json:"amount"`
	StateShare       Optional[string] `json:"state_share"`
	DepartementShare Optional[string] `json:"departement_share"`
	OtherShare       Optional[string] `json:"other_share"`
}

func (r budgetLineRequest) input(v *services.Validator) budget.BudgetLineInput {
	return budget.BudgetLineInput{Label: optText(v, "label", r.Label), Amount: optMoney(v, "amount", r.Amount),
		StateShare: optMoney(v, "state_share", r.StateShare), DepartementShare: optMoney(v, "departement_share", r.DepartementShare),
		OtherShare: optMoney(v, "other_share", r.OtherShare)}
}

var (
	fundingLineView = view[budget.FundingLine, fundingLineDTO]{dto: toFundingLineDTO,
		version: func(f budget.FundingLine) int { return f.Version }}
	budgetLineView = view[budget.BudgetLine, budgetLineDTO]{dto: toBudgetLineDTO,
		version: func(l budget.BudgetLine) int { return l.Version }}
)

// budgetHandlers serve the contracted budget.
type budgetHandlers struct {
	svc        *budget.Service
	indicators *indicators.Service
}

// annexe3 answers the year's Annexe 3 table as JSON, or as a CSV or XLSX download.
func (h budgetHandlers) annexe3(c *gin.Context) error {
	year, err := pathYear(c)
	if err != nil {
		return err
	}
	format, err := queryFormat(c)
	if err != nil {
		return err
	}
	y, err := h.svc.Year(c.Request.Context(), year)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		return sendFile(c, export.Filename(y, "csv"), export.CSVContentType, func(w io.Writer) error { return export.WriteCSV(w, y) })
	case "xlsx":
		return sendFile(c, export.Filename(y, "xlsx"), export.XLSXContentType, func(w io.Writer) error { return export.WriteXLSX(w, y) })
	}
	c.JSON(http.StatusOK, toConventionYearDTO(y))
	return nil
}

func (h budgetHandlers) check(c *gin.Context) error {
	year, err := pathYear(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Check(c.Request.Context(), year)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toCheckDTO(res))
	return nil
}

func (h budgetHandlers) getAction(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	return h.renderAction(c, http.StatusOK, year, c.Param("code"))
}

// renderAction answers the action with its lines, indicators and ETag.
func (h budgetHandlers) renderAction(c *gin.Context, status, year int, code string) error {
	ctx := c.Request.Context()
	a, err := h.svc.Action(ctx, year, code)
	if err != nil {
		return err
	}
	inds, err := h.indicators.ForAction(ctx, code)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		c.Header("Location", "/api/v1/actions/"+a.Code+"?year="+strconv.Itoa(a.Year))
	}
	respond(c, status, a.Version, toActionDTO(a, inds))
	return nil
}

func (h budgetHandlers) createAction(c *gin.Context) error {
	year, err := pathYear(c)
	if err != nil {
		return err
	}
	var req actionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var v services.Validator
	code := resourceCode(&v, req.Code, true, "action")
	in := req.input(&v)
	if err := inputErrors(&v, in, true); err != nil {
		return err
	}
	if _, err := h.svc.CreateAction(c.Request.Context(), year, *code, in); err != nil {
		return err
	}
	return h.renderAction(c, http.StatusCreated, year, *code)
}

func (h budgetHandlers) updateAction(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	version, err := expectedVersion(c)
	if err != nil {
		return err
	}
	var req actionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var v services.Validator
	resourceCode(&v, req.Code, false, "action")
	in := req.input(&v)
	if err := inputErrors(&v, in, false); err != nil {
		return err
	}
	if _, err := h.svc.UpdateAction(c.Request.Context(), year, c.Param("code"), version, in); err != nil {
		return err
	}
	return h.renderAction(c, http.StatusOK, year, c.Param("code"))
}

func (h budgetHandlers) createFundingLine(c *gin.Context) error {
	year, err := pathYear(c)
	if err != nil {
		return err
	}
	in, err := bindInput[fundingLineRequest](c, true)
	if err != nil {
		return err
	}
	f, err := h.svc.CreateFundingLine(c.Request.Context(), year, in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/funding-lines/"+strconv.FormatInt(f.ID, 10))
	respond(c, http.StatusCreated, f.Version, toFundingLineDTO(f))
	return nil
}

func (h budgetHandlers) createBudgetLine(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	in, err := bindInput[budgetLineRequest](c, true)
	if err != nil {
		return err
	}
	l, err := h.svc.CreateBudgetLine(c.Request.Context(), year, c.Param("code"), in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/budget-lines/"+strconv.FormatInt(l.ID, 10))
	respond(c, http.StatusCreated, l.Version, toBudgetLineDTO(l))
	return nil
}
