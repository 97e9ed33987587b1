package api

import (
	"bufio"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/api/export"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/expenses"
)

// sharesDTO is an amount's split across funders.
type sharesDTO struct {
	State       string `json:"state"`
	Departement string `json:"departement"`
	Carryover   string `json:"carryover"`
	Other       string `json:"other"`
}

// expenseDTO is a ledger entry as the API shows it.
type expenseDTO struct {
	ID           int64     `json:"id"`
	ActionCode   string    `json:"action_code"`
	BudgetLineID *int64    `json:"budget_line_id"`
	Kind         string    `json:"kind"`
	Amount       string    `json:"amount"`
	Date         string    `json:"date"`
	Supplier     string    `json:"supplier"`
	Reference    string    `json:"reference"`
	Funder       *string   `json:"funder"`
	Shares       sharesDTO `json:"shares"`
	ReversesID   *int64    `json:"reverses_id"`
}

func toExpenseDTO(e expenses.Expense) expenseDTO {
	return expenseDTO{ID: e.ID, ActionCode: e.ActionCode, BudgetLineID: e.BudgetLineID, Kind: e.Kind, Amount: moneyString(e.Amount),
		Date: dateString(e.Date), Supplier: e.Supplier, Reference: e.Reference, Funder: e.Funder,
		Shares: sharesDTO{State: moneyString(e.Shares.State), Departement: moneyString(e.Shares.Departement),
			Carryover: moneyString(e.Shares.Carryover), Other: moneyString(e.Shares.Other)},
		ReversesID: e.ReversesID}
}

// expenseRequest records a commitment or a payment; budget_line_id and funder may be absent
// or null (no line; split across funders).
type expenseRequest struct {
	ActionCode   Optional[string] `json:"action_code"`
	BudgetLineID Optional[int64]  `json:"budget_line_id"`
	Kind         Optional[string] `json:"kind"`
	Amount       Optional[string] `json:"amount"`
	Date         Optional[string] `json:"date"`
	Supplier     Optional[string] `json:"supplier"`
	Reference    Optional[string] `json:"reference"`
	Funder       Optional[string] `json:"funder"`
}

func (r expenseRequest) input(v *services.Validator) expenses.Input {
	return expenses.Input{ActionCode: optText(v, "action_code", r.ActionCode), BudgetLineID: nullIsAbsent(r.BudgetLineID),
		Kind: optText(v, "kind", r.Kind), Amount: optMoney(v, "amount", r.Amount), Date: optDate(v, "date", r.Date),
		Supplier: optText(v, "supplier", r.Supplier), Reference: optText(v, "reference", r.Reference), Funder: nullIsAbsent(r.Funder)}
}

// reverseRequest says how a reversing entry differs from the entry it reverses; {} keeps the
// reversed entry's date and reference.
type reverseRequest struct {
	Date      Optional[string] `json:"date"`
	Reference Optional[string] `json:"reference"`
}

func (r reverseRequest) input(v *services.Validator) expenses.ReverseInput {
	return expenses.ReverseInput{Date: optDate(v, "date", r.Date), Reference: optText(v, "reference", r.Reference)}
}

// nullIsAbsent returns the value of an optional field, nil when absent or null.
func nullIsAbsent[T any](o Optional[T]) *T {
	if !o.Set || o.Null {
		return nil
	}
	return &o.Value
}

// expenseView renders ledger entries; an entry never changes, so its ETag is always "1".
var expenseView = view[expenses.Expense, expenseDTO]{dto: toExpenseDTO, version: func(expenses.Expense) int { return 1 }}

type expenseHandlers struct {
	svc *expenses.Service
}

// registerExpenses adds the expense ledger: administrators record and reverse entries,
// administrators and managers read it.
func registerExpenses(v1 *gin.RouterGroup, d Deps) {
	h := expenseHandlers{svc: expenses.New(d.DB)}
	adminOnly := requireRoles(auth.RoleAdmin)
	v1.GET("/expenses", requireRoles(auth.RoleAdmin, auth.RoleManager), handle(h.list))
	v1.POST("/expenses", adminOnly, createFrom[expenseRequest](expenseView, h.svc.Create))
	v1.POST("/expenses/:id/reverse", adminOnly, postToID[reverseRequest](expenseView, http.StatusCreated, h.svc.Reverse))
}

// list answers one page of the ledger as JSON or, with ?format=csv, the whole of the ledger
// the filters select as a CSV download streamed as it is read.
func (h expenseHandlers) list(c *gin.Context) error {
	csvFormat, err := ledgerFormat(c)
	if err != nil {
		return err
	}
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	from, to, err := queryDateRange(c)
	if err != nil {
		return err
	}
	filter := expenses.Filter{ActionCode: c.Query("action"), From: from, To: to, Page: page}
	if csvFormat {
		return h.export(c, filter)
	}
	res, err := h.svc.List(c.Request.Context(), filter)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toExpenseDTO))
	return nil
}

// ledgerFormat reads ?format=: json (the default) or csv, which takes neither limit nor
// cursor (it is the whole ledger the filters select); it reports whether csv was asked.
func ledgerFormat(c *gin.Context) (bool, error) {
	switch c.DefaultQuery("format", "json") {
	case "json":
		return false, nil
	case "csv":
		var fields []services.FieldError
		for _, name := range []string{"limit", "cursor"} {
			if _, ok := c.GetQuery(name); ok {
				fields = append(fields, services.FieldError{Field: name, Message: "does not apply to format=csv, the whole ledger the filters select"})
			}
		}
		if len(fields) > 0 {
			return true, badRequest("invalid query parameters", fields...)
		}
		return true, nil
	}
	return false, badRequest("unknown format", services.FieldError{Field: "format", Message: "must be json or csv"})
}

// export streams the entries filter selects as CSV, each row written as PostgreSQL sends it
// (see streamDownload for an error after the first bytes).
func (h expenseHandlers) export(c *gin.Context, filter expenses.Filter) error {
	p, err := services.Caller(c.Request.Context())
	if err != nil {
		return err
	}
	return streamDownload(c, export.LedgerFilename(p.Departement), export.CSVContentType, func(w *bufio.Writer) error {
		ledger, err := export.NewLedgerCSV(w)
		if err != nil {
			return err
		}
		if _, err := h.svc.Export(c.Request.Context(), filter, ledger.Write); err != nil {
			return err
		}
		return ledger.Flush()
	})
}

// queryDateRange reads the optional ?from= and ?to= dates; to must not be before from.
func queryDateRange(c *gin.Context) (from, to *time.Time, err error) {
	if from, err = queryDate(c, "from"); err != nil {
		return nil, nil, err
	}
	if to, err = queryDate(c, "to"); err != nil {
		return nil, nil, err
	}
	if from != nil && to != nil && to.Before(*from) {
		return nil, nil, badRequest("invalid to", services.FieldError{Field: "to", Message: "must not be before from"})
	}
	return from, to, nil
}
