package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/accompindicators"
	"parcours/services/accruals"
	"parcours/services/auth"
)

type accrualMonthDTO struct {
	Month  string `json:"month"`
	Amount string `json:"amount"`
}

type accrualsDTO struct {
	Action string            `json:"action"`
	Year   int               `json:"year"`
	AsOf   string            `json:"as_of"`
	Months []accrualMonthDTO `json:"months"`
	Total  string            `json:"total"`
}

func toAccrualsDTO(a accruals.Accruals) accrualsDTO {
	out := accrualsDTO{Action: a.Action, Year: a.Year, AsOf: dateString(a.AsOf), Total: moneyString(a.Total),
		Months: make([]accrualMonthDTO, len(a.Months))}
	for i, m := range a.Months {
		out.Months[i] = accrualMonthDTO{Month: m.Start.Format("2006-01"), Amount: moneyString(m.Amount)}
	}
	return out
}

type exitsDTO struct {
	Action   string           `json:"action"`
	Year     int              `json:"year"`
	Total    int64            `json:"total"`
	ByReason map[string]int64 `json:"by_reason"`
}

func toExitsDTO(e accompindicators.ExitCounts) exitsDTO {
	return exitsDTO{Action: e.Action, Year: e.Year, Total: e.Total, ByReason: e.ByReason}
}

type accrualHandlers struct {
	accruals *accruals.Service
	exits    *accompindicators.Service
}

// registerAccruals adds the cost accruals and the exit breakdowns of the fiches actions:
// aggregates, for admins and managers.
func registerAccruals(v1 *gin.RouterGroup, d Deps) {
	h := accrualHandlers{accruals: accruals.New(d.reportsDB()), exits: accompindicators.New(d.reportsDB())}
	aggregates := requireRoles(auth.RoleAdmin, auth.RoleManager)
	v1.GET("/actions/:code/accruals", aggregates, handle(h.actionAccruals))
	v1.GET("/actions/:code/exits", aggregates, handle(h.exitsByReason))
}

func (h accrualHandlers) actionAccruals(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	asOf, err := queryAsOf(c, year)
	if err != nil {
		return err
	}
	a, err := h.accruals.ForAction(c.Request.Context(), c.Param("code"), year, asOf)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toAccrualsDTO(a))
	return nil
}

func (h accrualHandlers) exitsByReason(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	e, err := h.exits.Exits(c.Request.Context(), c.Param("code"), year)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toExitsDTO(e))
	return nil
}

// queryAsOf reads the optional ?as_of= date, which must be a day of year; nil when absent.
func queryAsOf(c *gin.Context, year int) (*time.Time, error) {
	raw, ok := c.GetQuery("as_of")
	if !ok {
		return nil, nil
	}
	d, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		return nil, badRequest("invalid as_of", services.FieldError{Field: "as_of", Message: `must be a date such as "2020-09-30"`})
	}
	if err := accruals.CheckAsOf(year, d); err != nil {
		return nil, badRequest("invalid as_of", services.FieldError{Field: "as_of", Message: err.Error()})
	}
	return &d, nil
}
