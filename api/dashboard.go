package api

import (
	"context"
	"embed"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"parcours/api/export"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/login"
	"parcours/services/money"
	"parcours/services/reports"
)

// SessionCookie holds the browser session a login link opens.
const SessionCookie = "parcours_session"

//go:embed templates/dashboard.html
var templates embed.FS

var dashboardTemplate = template.Must(template.ParseFS(templates, "templates/dashboard.html"))

// chartWidth is the width, in pixels, of the longest bar of the dashboard's charts.
const chartWidth = 240

// reportSource is what the dashboard reads.
type reportSource interface {
	Spend(ctx context.Context, year int, asOf *time.Time) (reports.Spend, error)
	Indicators(ctx context.Context, year int) (reports.Indicators, error)
}

type dashboardHandlers struct {
	reports reportSource
	budget  *budget.Service
	login   *login.Service
	tokens  *auth.Tokens
}

// registerDashboard adds the management dashboard and its sign-in: GET /login?token= turns a
// single-use link into an HttpOnly, SameSite=Strict session cookie; GET /dashboard accepts
// that cookie or a bearer token, for administrators and managers.
func registerDashboard(r *gin.Engine, d Deps, source reportSource) {
	h := dashboardHandlers{reports: source, budget: budget.New(d.reportsDB()), login: login.New(d.DB, d.Tokens), tokens: d.Tokens}
	r.GET("/login", handle(h.signIn))
	web := r.Group("", webAuth(d.Tokens), requireRoles(auth.RoleAdmin, auth.RoleManager))
	web.GET("/dashboard", handle(h.dashboard))
	web.GET("/dashboard/workbook.xlsx", handle(h.workbook))
}

// webAuth authenticates a browser by its session cookie, or any client by a bearer token.
func webAuth(tokens *auth.Tokens) gin.HandlerFunc {
	bearer := authenticate(tokens)
	return func(c *gin.Context) {
		cookie, err := c.Cookie(SessionCookie)
		if err != nil || c.GetHeader("Authorization") != "" {
			bearer(c)
			return
		}
		p, err := tokens.VerifySession(cookie)
		if err != nil {
			renderError(c, err)
			return
		}
		c.Request = c.Request.WithContext(auth.WithPrincipal(c.Request.Context(), p))
		c.Next()
	}
}

func (h dashboardHandlers) signIn(c *gin.Context) error {
	raw := c.Query("token")
	if raw == "" {
		return badRequest("the login link has no token", services.FieldError{Field: "token", Message: "is required"})
	}
	session, _, err := h.login.Redeem(c.Request.Context(), raw)
	if err != nil {
		return err
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: session, Path: "/", MaxAge: int(login.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request.TLS != nil,
	})
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// year reads ?year=, defaulting to the latest convention year.
func (h dashboardHandlers) year(c *gin.Context) (int, error) {
	if raw, ok := c.GetQuery("year"); ok {
		return parseYear(raw, "year")
	}
	return h.budget.LatestYear(c.Request.Context())
}

func (h dashboardHandlers) dashboard(c *gin.Context) error {
	year, err := h.year(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	spend, err := h.reports.Spend(ctx, year, nil)
	if err != nil {
		return err
	}
	inds, err := h.reports.Indicators(ctx, year)
	if err != nil {
		return err
	}
	p, _ := auth.PrincipalFrom(ctx)
	page := newDashboardPage(spend, inds, p.Departement)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	return dashboardTemplate.Execute(c.Writer, page)
}

// workbook sends the spend and indicator workbook of the dashboard's year.
func (h dashboardHandlers) workbook(c *gin.Context) error {
	year, err := h.year(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	spend, err := h.reports.Spend(ctx, year, nil)
	if err != nil {
		return err
	}
	inds, err := h.reports.Indicators(ctx, year)
	if err != nil {
		return err
	}
	name := export.ReportFilename(export.ReportWorkbook, spend.Departement, year, "xlsx")
	return sendFile(c, name, export.XLSXContentType, func(w io.Writer) error { return export.WriteReportXLSX(w, &spend, inds) })
}

// dashboardPage is what the template shows, already written in French.
type dashboardPage struct {
	Year        int
	Departement string
	AsOf        string
	XLSXLink    string
	ChartWidth  int
	Rows        []dashboardRow
	Totals      dashboardRow
	Indicators  []dashboardIndicator
}

type dashboardRow struct {
	ID            int
	Code          string
	Title         string
	Budget        string
	Consumed      string
	Rate          string
	ChartText     string
	BudgetWidth   int64
	ConsumedWidth int64
	Over          bool
	Flags         []string
}

type dashboardIndicator struct {
	Code, Label, Scope, Value, Target, Status, StatusText string
}

var flagLabels = map[string]string{
	reports.FlagOverspendRisk:      "Risque de dépassement",
	reports.FlagUnderspendRisk:     "Risque de sous-consommation",
	reports.FlagStateCreditsAtRisk: "Crédits État dépassés",
}

var statusLabels = map[string]string{
	reports.StatusMet:      "Atteint",
	reports.StatusBehind:   "En retard",
	reports.StatusNoTarget: "Sans cible",
	reports.StatusNoData:   "Pas de donnée",
}

func newDashboardPage(s reports.Spend, inds reports.Indicators, departement string) dashboardPage {
	page := dashboardPage{Year: s.Year, Departement: departement, AsOf: s.AsOf.Format("02/01/2006"),
		XLSXLink: "/dashboard/workbook.xlsx?year=" + strconv.Itoa(s.Year), ChartWidth: chartWidth}
	scale := decimal.Zero // the largest of budgets and consumptions: the longest bar
	for _, a := range s.Actions {
		scale = decimal.Max(scale, a.Budget, a.Consumed)
	}
	for i, a := range s.Actions {
		page.Rows = append(page.Rows, newDashboardRow(i+1, a.Code, a.Title, a.SpendFigures, scale))
	}
	page.Totals = newDashboardRow(0, "", "Total", s.Totals, decimal.Zero)
	for _, r := range inds.Rows {
		page.Indicators = append(page.Indicators, dashboardIndicator{Code: r.Code, Label: r.Label, Scope: scopeLabel(r.Scope),
			Value: frenchNumber(r.Value, r.Unit), Target: targetText(r), Status: r.Status, StatusText: statusLabels[r.Status]})
	}
	return page
}

func newDashboardRow(id int, code, title string, f reports.SpendFigures, scale decimal.Decimal) dashboardRow {
	row := dashboardRow{ID: id, Code: code, Title: title, Budget: money.French(f.Budget), Consumed: money.French(f.Consumed),
		Rate: frenchPercent(f.ExecutionRate), Over: f.Consumed.GreaterThan(f.Budget)}
	row.ChartText = "Fiche " + code + " : " + row.Consumed + " consommés sur un budget de " + row.Budget + " (" + row.Rate + ")"
	if scale.IsPositive() {
		width := decimal.NewFromInt(chartWidth)
		row.BudgetWidth = f.Budget.Mul(width).Div(scale).Round(0).IntPart()
		row.ConsumedWidth = f.Consumed.Mul(width).Div(scale).Round(0).IntPart()
	}
	for _, flag := range f.Flags {
		row.Flags = append(row.Flags, flagLabels[flag])
	}
	return row
}

// frenchPercent writes a rate (0.1234) as "12,3 %".
func frenchPercent(rate decimal.Decimal) string {
	return strings.Replace(rate.Mul(decimal.NewFromInt(100)).StringFixed(1), ".", ",", 1) + " %"
}

func frenchNumber(d decimal.NullDecimal, unit string) string {
	if !d.Valid {
		return "—"
	}
	if unit == "amount" {
		return money.French(d.Decimal)
	}
	return strings.Replace(d.Decimal.String(), ".", ",", 1)
}

func targetText(r reports.IndicatorRow) string {
	if !r.Target.Valid {
		return "—"
	}
	symbols := map[string]string{"eq": "=", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
	return symbols[r.TargetComparator] + " " + frenchNumber(r.Target, r.Unit)
}

func scopeLabel(scope string) string {
	if scope == "national" {
		return "nationale"
	}
	return "départementale"
}
