package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"parcours/api/export"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/indicators"
	"parcours/services/reports"
)

// spendFiguresDTO are the money columns of a spend row, money as strings.
type spendFiguresDTO struct {
	Budget           string   `json:"budget"`
	StateShare       string   `json:"state_share"`
	DepartementShare string   `json:"departement_share"`
	Carryover        string   `json:"carryover"`
	OtherFunders     string   `json:"other_funders"`
	Committed        string   `json:"committed"`
	Paid             string   `json:"paid"`
	Accrued          string   `json:"accrued"`
	Consumed         string   `json:"consumed"`
	Remaining        string   `json:"remaining"`
	StateConsumed    string   `json:"state_consumed"`
	ExecutionRate    string   `json:"execution_rate"`
	ProjectedYearEnd string   `json:"projected_year_end"`
	Flags            []string `json:"flags"`
}

func toSpendFiguresDTO(f reports.SpendFigures) spendFiguresDTO {
	flags := f.Flags
	if flags == nil {
		flags = []string{}
	}
	return spendFiguresDTO{Budget: moneyString(f.Budget), StateShare: moneyString(f.StateShare),
		DepartementShare: moneyString(f.DepartementShare), Carryover: moneyString(f.Carryover), OtherFunders: moneyString(f.OtherFunders),
		Committed: moneyString(f.Committed), Paid: moneyString(f.Paid), Accrued: moneyString(f.Accrued), Consumed: moneyString(f.Consumed),
		Remaining: moneyString(f.Remaining), StateConsumed: moneyString(f.StateConsumed), ExecutionRate: f.ExecutionRate.StringFixed(4),
		ProjectedYearEnd: moneyString(f.ProjectedYearEnd), Flags: flags}
}

type actionSpendDTO struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	FundingLine string `json:"funding_line"`
	spendFiguresDTO
}

type fundingLineSpendDTO struct {
	Chorus string `json:"chorus"`
	Label  string `json:"label"`
	Theme  string `json:"theme"`
	spendFiguresDTO
}

type spendDTO struct {
	Year         int                   `json:"year"`
	AsOf         string                `json:"as_of"`
	Actions      []actionSpendDTO      `json:"actions"`
	FundingLines []fundingLineSpendDTO `json:"funding_lines"`
	Totals       spendFiguresDTO       `json:"totals"`
}

func toSpendDTO(s reports.Spend) spendDTO {
	out := spendDTO{Year: s.Year, AsOf: dateString(s.AsOf), Actions: make([]actionSpendDTO, len(s.Actions)),
		FundingLines: make([]fundingLineSpendDTO, len(s.FundingLines)), Totals: toSpendFiguresDTO(s.Totals)}
	for i, a := range s.Actions {
		out.Actions[i] = actionSpendDTO{Code: a.Code, Title: a.Title, FundingLine: a.FundingLine, spendFiguresDTO: toSpendFiguresDTO(a.SpendFigures)}
	}
	for i, f := range s.FundingLines {
		out.FundingLines[i] = fundingLineSpendDTO{Chorus: f.Chorus, Label: f.Label, Theme: f.Theme, spendFiguresDTO: toSpendFiguresDTO(f.SpendFigures)}
	}
	return out
}

// indicatorValueDTO is a declaration of a declared indicator's value.
type indicatorValueDTO struct {
	ID         int64       `json:"id"`
	Indicator  string      `json:"indicator"`
	Period     string      `json:"period"`
	Territory  *string     `json:"territory"`
	Value      json.Number `json:"value"`
	Source     string      `json:"source"`
	Comment    string      `json:"comment"`
	DeclaredAt time.Time   `json:"declared_at"`
}

func toIndicatorValueDTO(v indicators.DeclaredValue) indicatorValueDTO {
	return indicatorValueDTO{ID: v.ID, Indicator: v.Indicator, Period: v.Period, Territory: nullable(v.Territory), Value: number(v.Value),
		Source: v.Source, Comment: v.Comment, DeclaredAt: v.DeclaredAt.UTC()}
}

// indicatorStatusDTO is a row of the indicator report: the indicator, its target and value,
// its status, and for a declared indicator the latest declaration of each period of the year.
type indicatorStatusDTO struct {
	reportRowDTO
	Status   string              `json:"status"`
	Declared []indicatorValueDTO `json:"declared"`
}

type indicatorReportDTO struct {
	Year       int                  `json:"year"`
	Action     *string              `json:"action"`
	Territory  *string              `json:"territory"`
	Indicators []indicatorStatusDTO `json:"indicators"`
}

func toIndicatorReportDTO(r reports.Indicators) indicatorReportDTO {
	out := indicatorReportDTO{Year: r.Year, Action: nullable(r.Action), Territory: nullable(r.Territory),
		Indicators: make([]indicatorStatusDTO, len(r.Rows))}
	for i, row := range r.Rows {
		out.Indicators[i] = toIndicatorStatusDTO(row)
	}
	return out
}

func toIndicatorStatusDTO(r reports.IndicatorRow) indicatorStatusDTO {
	out := indicatorStatusDTO{reportRowDTO: reportRowDTO{Code: r.Code, Action: r.Action, Scope: r.Scope, Label: r.Label, Unit: r.Unit,
		Method: r.Method, Params: r.Params, Target: nullableNumber(r.Target), Value: nullableNumber(r.Value)},
		Status: r.Status, Declared: make([]indicatorValueDTO, len(r.Declared))}
	if out.Params == nil {
		out.Params = map[string]float64{}
	}
	if r.Target.Valid {
		out.TargetComparator, out.TargetNote = &r.TargetComparator, &r.TargetNote
	}
	for i, d := range r.Declared {
		out.Declared[i] = toIndicatorValueDTO(d)
	}
	return out
}

// indicatorValueRequest declares a value: period, value (a JSON number), source, optional
// comment and, for agents, territory.
type indicatorValueRequest struct {
	Period    Optional[string]      `json:"period"`
	Territory Optional[string]      `json:"territory"`
	Value     Optional[exactNumber] `json:"value"`
	Source    Optional[string]      `json:"source"`
	Comment   Optional[string]      `json:"comment"`
}

func (r indicatorValueRequest) input(v *services.Validator) indicators.ValueInput {
	in := indicators.ValueInput{Period: optText(v, "period", r.Period), Territory: nullIsAbsent(r.Territory),
		Source: optText(v, "source", r.Source), Comment: nullIsAbsent(r.Comment)}
	if n := notNull(v, "value", r.Value); n != nil {
		d, err := decimal.NewFromString(string(*n))
		v.Check(err == nil, "value", "must be a number")
		in.Value = &d
	}
	return in
}

// exactNumber is a JSON number kept as written, so no float rounds it; a JSON string (which
// json.Number would take) is a type error on its field, a 422.
type exactNumber json.Number

// UnmarshalJSON takes a JSON number only.
func (n *exactNumber) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[float64]()}
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return err
	}
	*n = exactNumber(num)
	return nil
}

type reportHandlers struct {
	svc        *reports.Service
	indicators *indicators.Service
}

// registerReports adds the spend and indicator reports (JSON, CSV, XLSX) and the declared
// indicator values.
func registerReports(v1 *gin.RouterGroup, d Deps) {
	h := reportHandlers{svc: reports.New(d.reportsDB(), d.Indicators), indicators: indicators.New(d.DB, d.Indicators)}
	v1.GET("/reports/spend", requireRoles(reports.SpendRoles...), handle(h.spend))
	v1.GET("/reports/indicators", requireRoles(auth.RoleAdmin, auth.RoleManager, auth.RoleAgent), handle(h.indicatorReport))
	v1.POST("/indicators/:code/values", requireRoles(auth.RoleAdmin, auth.RoleAgent), handle(h.declare))
}

// spend answers the spend report of ?year= as of ?as_of=, as JSON, CSV or the XLSX workbook.
func (h reportHandlers) spend(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	asOf, err := queryAsOf(c, year)
	if err != nil {
		return err
	}
	format, err := queryFormat(c)
	if err != nil {
		return err
	}
	s, err := h.svc.Spend(c.Request.Context(), year, asOf)
	if err != nil {
		return err
	}
	return reportAnswer{departement: s.Departement, year: year, body: func() any { return toSpendDTO(s) },
		csvPrefix: export.SpendReport, csv: func(w io.Writer) error { return export.WriteSpendCSV(w, s) },
		workbook: func() (*reports.Spend, reports.Indicators, error) {
			inds, err := h.svc.Indicators(c.Request.Context(), year)
			return &s, inds, err
		}}.send(c, format)
}

// indicatorReport answers the indicator report of ?year= (of ?action=, with the values of
// ?territory=), as JSON, CSV or the XLSX workbook.
func (h reportHandlers) indicatorReport(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	territory, err := queryTerritory(c)
	if err != nil {
		return err
	}
	format, err := queryFormat(c)
	if err != nil {
		return err
	}
	r, err := h.svc.IndicatorReport(c.Request.Context(), indicators.ReportFilter{Year: year, ActionCode: c.Query("action"), Territory: territory})
	if err != nil {
		return err
	}
	return reportAnswer{departement: r.Departement, year: year, body: func() any { return toIndicatorReportDTO(r) },
		csvPrefix: export.IndicatorsReport, csv: func(w io.Writer) error { return export.WriteIndicatorsCSV(w, r) },
		workbook: func() (*reports.Spend, reports.Indicators, error) {
			s, err := h.spendSheet(c, year)
			return s, r, err
		}}.send(c, format)
}

// reportAnswer is a report in the three formats: its JSON body, its CSV, and the workbook
// (the spend sheet when not nil, and the indicators) it belongs to.
type reportAnswer struct {
	departement string
	year        int
	body        func() any
	csvPrefix   string
	csv         func(io.Writer) error
	workbook    func() (*reports.Spend, reports.Indicators, error)
}

// send answers a in format: json, csv or xlsx, the last two as downloads.
func (a reportAnswer) send(c *gin.Context, format string) error {
	switch format {
	case "csv":
		return sendFile(c, export.ReportFilename(a.csvPrefix, a.departement, a.year, "csv"), export.CSVContentType, a.csv)
	case "xlsx":
		s, r, err := a.workbook()
		if err != nil {
			return err
		}
		return sendFile(c, export.ReportFilename(export.ReportWorkbook, a.departement, a.year, "xlsx"), export.XLSXContentType,
			func(w io.Writer) error { return export.WriteReportXLSX(w, s, r) })
	}
	c.JSON(http.StatusOK, a.body())
	return nil
}

// spendSheet is the spend report of year as of its default day for the workbook of the
// indicator report, or nil when the caller may not read spend or the year has no convention.
func (h reportHandlers) spendSheet(c *gin.Context, year int) (*reports.Spend, error) {
	p, ok := auth.PrincipalFrom(c.Request.Context())
	if !ok || !reports.CanReadSpend(p) {
		return nil, nil
	}
	s, err := h.svc.Spend(c.Request.Context(), year, nil)
	if errors.Is(err, services.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// declare records a value of declared indicator :code.
func (h reportHandlers) declare(c *gin.Context) error {
	in, err := bindInput[indicatorValueRequest](c, true)
	if err != nil {
		return err
	}
	v, err := h.indicators.DeclareValue(c.Request.Context(), c.Param("code"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toIndicatorValueDTO(v))
	return nil
}

// queryFormat reads ?format=: json (the default), csv or xlsx; anything else is a 400.
func queryFormat(c *gin.Context) (string, error) {
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		return "", badRequest("unknown format", services.FieldError{Field: "format", Message: "must be json, csv or xlsx"})
	}
	return format, nil
}

// sendFile renders a whole download before sending it as name, so a failure is a clean problem.
func sendFile(c *gin.Context, name, contentType string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, contentType, buf.Bytes())
	return nil
}
