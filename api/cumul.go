package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/cumul"
)

// cumulAgreementDTO is an agreement of the cumul scheme as the API shows it.
type cumulAgreementDTO struct {
	ID                           int64       `json:"id"`
	BeneficiaryID                int64       `json:"beneficiary_id"`
	Employer                     string      `json:"employer"`
	SIRET                        string      `json:"siret"`
	Sector                       string      `json:"sector"`
	ContractType                 string      `json:"contract_type"`
	StartsOn                     string      `json:"starts_on"`
	EndsOn                       string      `json:"ends_on"`
	Hours                        json.Number `json:"hours"`
	UnemploymentRightsReopenedOn *string     `json:"unemployment_rights_reopened_on"`
	Version                      int         `json:"version"`
	CreatedAt                    time.Time   `json:"created_at"`
	UpdatedAt                    time.Time   `json:"updated_at"`
}

func toCumulAgreementDTO(a cumul.Agreement) cumulAgreementDTO {
	return cumulAgreementDTO{ID: a.ID, BeneficiaryID: a.BeneficiaryID, Employer: a.Employer, SIRET: a.SIRET, Sector: a.Sector,
		ContractType: a.ContractType, StartsOn: dateString(a.StartsOn), EndsOn: dateString(a.EndsOn), Hours: number(a.Hours),
		UnemploymentRightsReopenedOn: nullableDate(a.UnemploymentRightsReopenedOn), Version: a.Version,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
}

// cumulAgreementRequest records an agreement; every field is required.
type cumulAgreementRequest struct {
	BeneficiaryID Optional[int64]       `json:"beneficiary_id"`
	Employer      Optional[string]      `json:"employer"`
	SIRET         Optional[string]      `json:"siret"`
	Sector        Optional[string]      `json:"sector"`
	ContractType  Optional[string]      `json:"contract_type"`
	StartsOn      Optional[string]      `json:"starts_on"`
	EndsOn        Optional[string]      `json:"ends_on"`
	Hours         Optional[json.Number] `json:"hours"`
}

func (r cumulAgreementRequest) input(v *services.Validator) cumul.AgreementInput {
	in := cumul.AgreementInput{BeneficiaryID: notNull(v, "beneficiary_id", r.BeneficiaryID), Employer: optText(v, "employer", r.Employer),
		SIRET: optText(v, "siret", r.SIRET), Sector: optText(v, "sector", r.Sector), ContractType: optText(v, "contract_type", r.ContractType),
		StartsOn: optDate(v, "starts_on", r.StartsOn), EndsOn: optDate(v, "ends_on", r.EndsOn)}
	if hours := notNull(v, "hours", r.Hours); hours != nil {
		d, err := decimal.NewFromString(hours.String())
		v.Check(err == nil, "hours", "must be a number of hours such as 35 or 17.5")
		in.Hours = &d
	}
	return in
}

// cumulAgreementChangeRequest closes an agreement early or records the reopening of the
// unemployment rights; null unemployment_rights_reopened_on forgets a date recorded by mistake.
type cumulAgreementChangeRequest struct {
	EndsOn                       Optional[string] `json:"ends_on"`
	UnemploymentRightsReopenedOn Optional[string] `json:"unemployment_rights_reopened_on"`
}

func (r cumulAgreementChangeRequest) input(v *services.Validator) cumul.AgreementChange {
	ch := cumul.AgreementChange{EndsOn: optDate(v, "ends_on", r.EndsOn), ClearReopened: r.UnemploymentRightsReopenedOn.Null}
	if !ch.ClearReopened {
		ch.ReopenedOn = optDate(v, "unemployment_rights_reopened_on", r.UnemploymentRightsReopenedOn)
	}
	return ch
}

// rsaParametersDTO are the parameters and household facts an allocation's rSa was computed
// with.
type rsaParametersDTO struct {
	ValidFrom        string  `json:"valid_from"`
	OnePersonAmount  string  `json:"one_person_amount"`
	HouseholdSize    int     `json:"household_size"`
	Multiplier       string  `json:"multiplier"`
	HouseholdAmount  string  `json:"household_amount"`
	HousingAid       bool    `json:"housing_aid"`
	HousingRate      *string `json:"housing_rate"`
	HousingDeduction string  `json:"housing_deduction"`
	OtherResources   string  `json:"other_resources"`
}

// cumulAllocationDTO is one month of an agreement as the API shows it.
type cumulAllocationDTO struct {
	ID                       int64             `json:"id"`
	AgreementID              int64             `json:"agreement_id"`
	BeneficiaryID            int64             `json:"beneficiary_id"`
	BudgetLineID             int64             `json:"budget_line_id"`
	Month                    string            `json:"month"`
	Wages                    string            `json:"wages"`
	RSAWithoutWages          string            `json:"rsa_without_wages"`
	OtherAgreementsAllocated string            `json:"other_agreements_allocated"`
	RSAWithWages             string            `json:"rsa_with_wages"`
	Allocation               string            `json:"allocation"`
	Parameters               *rsaParametersDTO `json:"parameters"`
	CreatedAt                time.Time         `json:"created_at"`
}

func toCumulAllocationDTO(a cumul.Allocation) cumulAllocationDTO {
	out := cumulAllocationDTO{ID: a.ID, AgreementID: a.AgreementID, BeneficiaryID: a.BeneficiaryID, BudgetLineID: a.BudgetLineID,
		Month: a.Month.Format(monthLayout), Wages: moneyString(a.Wages), RSAWithoutWages: moneyString(a.RSAWithoutWages),
		OtherAgreementsAllocated: moneyString(a.OtherAllocated), RSAWithWages: moneyString(a.RSAWithWages),
		Allocation: moneyString(a.Amount), CreatedAt: a.CreatedAt.UTC()}
	if p := a.Parameters; p != nil {
		out.Parameters = &rsaParametersDTO{ValidFrom: dateString(p.ValidFrom), OnePersonAmount: moneyString(p.OnePersonAmount),
			HouseholdSize: p.HouseholdSize, Multiplier: p.Multiplier.String(), HouseholdAmount: moneyString(p.HouseholdAmount),
			HousingAid: p.HousingAid, HousingDeduction: moneyString(p.HousingDeduction), OtherResources: moneyString(p.OtherResources)}
		if p.HousingRate.Valid {
			rate := p.HousingRate.Decimal.String()
			out.Parameters.HousingRate = &rate
		}
	}
	return out
}

// cumulAllocationRequest records the allocation of a month; without rsa_without_wages, the
// household fields serve to compute it.
type cumulAllocationRequest struct {
	Month           Optional[string] `json:"month"`
	Wages           Optional[string] `json:"wages"`
	RSAWithoutWages Optional[string] `json:"rsa_without_wages"`
	HouseholdSize   Optional[int]    `json:"household_size"`
	HousingAid      Optional[bool]   `json:"housing_aid"`
	OtherResources  Optional[string] `json:"other_resources"`
}

func (r cumulAllocationRequest) input(v *services.Validator) cumul.AllocationInput {
	return cumul.AllocationInput{Month: optMonth(v, "month", r.Month), Wages: optMoney(v, "wages", r.Wages),
		RSAWithoutWages: optMoney(v, "rsa_without_wages", r.RSAWithoutWages), HouseholdSize: notNull(v, "household_size", r.HouseholdSize),
		HousingAid: notNull(v, "housing_aid", r.HousingAid), OtherResources: optMoney(v, "other_resources", r.OtherResources)}
}

// monthLayout is how a month is written: "2020-06".
const monthLayout = "2006-01"

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// optMonth parses a month field ("2020-06") to its first day: nil when absent, a field error
// when null or malformed.
func optMonth(v *services.Validator, field string, o Optional[string]) *time.Time {
	s := notNull(v, field, o)
	if s == nil {
		return nil
	}
	m, err := time.Parse(monthLayout, *s)
	ok := err == nil && monthPattern.MatchString(*s)
	v.Check(ok, field, `must be a month such as "2020-06"`)
	if !ok {
		return nil
	}
	return &m
}

type cumulEnvelopeDTO struct {
	Year      int    `json:"year"`
	Budget    string `json:"budget"`
	Allocated string `json:"allocated"`
	Remaining string `json:"remaining"`
}

type cumulMonthDTO struct {
	Month       string `json:"month"`
	Allocations int64  `json:"allocations"`
	Amount      string `json:"amount"`
}

type cumulTotalDTO struct {
	Agreements  int64  `json:"agreements"`
	People      int64  `json:"people"`
	Allocations int64  `json:"allocations"`
	Amount      string `json:"amount"`
}

type cumulSectorDTO struct {
	Sector string `json:"sector"`
	cumulTotalDTO
}

type cumulContractTypeDTO struct {
	ContractType string `json:"contract_type"`
	cumulTotalDTO
}

type cumulSummaryDTO struct {
	Year           int                    `json:"year"`
	Months         []cumulMonthDTO        `json:"months"`
	Total          cumulTotalDTO          `json:"total"`
	BySector       []cumulSectorDTO       `json:"by_sector"`
	ByContractType []cumulContractTypeDTO `json:"by_contract_type"`
}

func toCumulTotalDTO(g cumul.GroupFigures) cumulTotalDTO {
	return cumulTotalDTO{Agreements: g.Agreements, People: g.People, Allocations: g.Allocations, Amount: moneyString(g.Amount)}
}

func toCumulSummaryDTO(s cumul.Summary) cumulSummaryDTO {
	out := cumulSummaryDTO{Year: s.Year, Total: toCumulTotalDTO(s.Total), Months: make([]cumulMonthDTO, len(s.Months)),
		BySector: make([]cumulSectorDTO, len(s.BySector)), ByContractType: make([]cumulContractTypeDTO, len(s.ByContractType))}
	for i, m := range s.Months {
		out.Months[i] = cumulMonthDTO{Month: m.Start.Format(monthLayout), Allocations: m.Allocations, Amount: moneyString(m.Amount)}
	}
	for i, g := range s.BySector {
		out.BySector[i] = cumulSectorDTO{Sector: g.Key, cumulTotalDTO: toCumulTotalDTO(g)}
	}
	for i, g := range s.ByContractType {
		out.ByContractType[i] = cumulContractTypeDTO{ContractType: g.Key, cumulTotalDTO: toCumulTotalDTO(g)}
	}
	return out
}

var (
	cumulAgreementView = view[cumul.Agreement, cumulAgreementDTO]{dto: toCumulAgreementDTO,
		version:  func(a cumul.Agreement) int { return a.Version },
		location: func(a cumul.Agreement) string { return location("/api/v1/cumul/agreements/")(a.ID) }}
	cumulAllocationView = view[cumul.Allocation, cumulAllocationDTO]{dto: toCumulAllocationDTO, version: firstVersion[cumul.Allocation]}
)

type cumulHandlers struct {
	svc *cumul.Service
}

// registerCumul adds the cumul rSa scheme of fiche 4.4: administrators and agents (for the
// beneficiaries of their territories) record and read agreements and their monthly
// allocations; managers read the envelope and the summary, agents the envelope; partners get
// 403 everywhere.
func registerCumul(v1 *gin.RouterGroup, d Deps) {
	h := cumulHandlers{svc: cumul.New(d.DB)}
	caseworkers := requireRoles(auth.RoleAdmin, auth.RoleAgent)
	v1.POST("/cumul/agreements", caseworkers, createFrom[cumulAgreementRequest](cumulAgreementView, h.svc.CreateAgreement))
	v1.GET("/cumul/agreements", caseworkers, handle(h.listAgreements))
	v1.GET("/cumul/agreements/:id", caseworkers, getByID(cumulAgreementView, h.svc.Agreement))
	v1.PATCH("/cumul/agreements/:id", caseworkers, patchByID[cumulAgreementChangeRequest](cumulAgreementView, h.svc.UpdateAgreement))
	v1.POST("/cumul/agreements/:id/allocations", caseworkers,
		postToID[cumulAllocationRequest](cumulAllocationView, http.StatusCreated, h.svc.Allocate))
	v1.GET("/cumul/agreements/:id/allocations", caseworkers, listByID(toCumulAllocationDTO, h.svc.Allocations))
	aggregates := cumulHandlers{svc: cumul.New(d.reportsDB())} // read-only: the reports handle
	v1.GET("/cumul/envelope", requireRoles(auth.RoleAdmin, auth.RoleManager, auth.RoleAgent), handle(aggregates.envelope))
	v1.GET("/cumul/allocations/summary", requireRoles(auth.RoleAdmin, auth.RoleManager), handle(aggregates.summary))
}

func (h cumulHandlers) listAgreements(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	f := cumul.Filter{Page: page}
	if raw := c.Query("beneficiary"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return badRequest("invalid query parameters", services.FieldError{Field: "beneficiary", Message: "must be a positive id"})
		}
		f.BeneficiaryID = id
	}
	res, err := h.svc.Agreements(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toCumulAgreementDTO))
	return nil
}

func (h cumulHandlers) envelope(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	e, err := h.svc.Envelope(c.Request.Context(), year)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, cumulEnvelopeDTO{Year: e.Year, Budget: moneyString(e.Budget), Allocated: moneyString(e.Allocated),
		Remaining: moneyString(e.Remaining)})
	return nil
}

func (h cumulHandlers) summary(c *gin.Context) error {
	year, err := queryYear(c)
	if err != nil {
		return err
	}
	s, err := h.svc.Summary(c.Request.Context(), year)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toCumulSummaryDTO(s))
	return nil
}
