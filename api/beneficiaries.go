package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
)

// beneficiaryDTO is a beneficiary as the API shows it; nir is null for callers who may not
// read it.
type beneficiaryDTO struct {
	ID                       int64     `json:"id"`
	LastName                 string    `json:"last_name"`
	FirstName                string    `json:"first_name"`
	BirthDate                string    `json:"birth_date"`
	Payer                    string    `json:"payer"`
	AllocataireNumber        string    `json:"allocataire_number"`
	NIR                      *string   `json:"nir"`
	TerritoryCode            string    `json:"territory_code"`
	Commune                  string    `json:"commune"`
	HouseholdSize            int       `json:"household_size"`
	RightsOpenedOn           string    `json:"rights_opened_on"`
	SubjectToRightsAndDuties bool      `json:"subject_to_rights_and_duties"`
	Phone                    *string   `json:"phone"`
	Email                    *string   `json:"email"`
	IndependentWorker        bool      `json:"independent_worker"`
	LeavingChildWelfare      bool      `json:"leaving_child_welfare"`
	Status                   string    `json:"status"`
	Version                  int       `json:"version"`
	CreatedAt                time.Time `json:"created_at"`
	UpdatedAt                time.Time `json:"updated_at"`
}

func toBeneficiaryDTO(b beneficiaries.Beneficiary) beneficiaryDTO {
	return beneficiaryDTO{
		ID: b.ID, LastName: b.LastName, FirstName: b.FirstName, BirthDate: dateString(b.BirthDate), Payer: b.Payer,
		AllocataireNumber: b.AllocataireNumber, NIR: b.NIR, TerritoryCode: b.TerritoryCode, Commune: b.Commune,
		HouseholdSize: b.HouseholdSize, RightsOpenedOn: dateString(b.RightsOpenedOn),
		SubjectToRightsAndDuties: b.SubjectToRightsAndDuties, Phone: b.Phone, Email: b.Email,
		IndependentWorker: b.IndependentWorker, LeavingChildWelfare: b.LeavingChildWelfare, Status: b.Status,
		Version: b.Version, CreatedAt: b.CreatedAt.UTC(), UpdatedAt: b.UpdatedAt.UTC(),
	}
}

type beneficiaryRequest struct {
	LastName                 Optional[string] `json:"last_name"`
	FirstName                Optional[string] `json:"first_name"`
	BirthDate                Optional[string] `json:"birth_date"`
	Payer                    Optional[string] `json:"payer"`
	AllocataireNumber        Optional[string] `json:"allocataire_number"`
	NIR                      Optional[string] `json:"nir"`
	TerritoryCode            Optional[string] `json:"territory_code"`
	Commune                  Optional[string] `json:"commune"`
	HouseholdSize            Optional[int]    `json:"household_size"`
	RightsOpenedOn           Optional[string] `json:"rights_opened_on"`
	SubjectToRightsAndDuties Optional[bool]   `json:"subject_to_rights_and_duties"`
	Phone                    Optional[string] `json:"phone"`
	Email                    Optional[string] `json:"email"`
	IndependentWorker        Optional[bool]   `json:"independent_worker"`
	LeavingChildWelfare      Optional[bool]   `json:"leaving_child_welfare"`
}

// clearable reads a field that null clears ("" for the service).
func clearable(o Optional[string]) *string {
	if o.Null {
		empty := ""
		return &empty
	}
	if !o.Set {
		return nil
	}
	return &o.Value
}

func (r beneficiaryRequest) input(v *services.Validator) beneficiaries.Input {
	return beneficiaries.Input{
		LastName: optText(v, "last_name", r.LastName), FirstName: optText(v, "first_name", r.FirstName),
		BirthDate: optDate(v, "birth_date", r.BirthDate), Payer: optText(v, "payer", r.Payer),
		AllocataireNumber: optText(v, "allocataire_number", r.AllocataireNumber), NIR: clearable(r.NIR),
		TerritoryCode: optText(v, "territory_code", r.TerritoryCode), Commune: optText(v, "commune", r.Commune),
		HouseholdSize:            notNull(v, "household_size", r.HouseholdSize),
		RightsOpenedOn:           optDate(v, "rights_opened_on", r.RightsOpenedOn),
		SubjectToRightsAndDuties: notNull(v, "subject_to_rights_and_duties", r.SubjectToRightsAndDuties),
		Phone:                    clearable(r.Phone), Email: clearable(r.Email),
		IndependentWorker:   notNull(v, "independent_worker", r.IndependentWorker),
		LeavingChildWelfare: notNull(v, "leaving_child_welfare", r.LeavingChildWelfare),
	}
}

type beneficiaryHandlers struct {
	svc *beneficiaries.Service
}

var beneficiaryView = view[beneficiaries.Beneficiary, beneficiaryDTO]{dto: toBeneficiaryDTO,
	version:  func(b beneficiaries.Beneficiary) int { return b.Version },
	location: func(b beneficiaries.Beneficiary) string { return location("/api/v1/beneficiaries/")(b.ID) }}

// registerBeneficiaries adds the beneficiary routes: agents and admins read and write,
// partners read those convoked or oriented to their organisation, managers get 403.
func registerBeneficiaries(v1 *gin.RouterGroup, d Deps) {
	h := beneficiaryHandlers{svc: beneficiaries.New(d.DB, d.Cipher)}
	readers := requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	writers := requireRoles(auth.RoleAdmin, auth.RoleAgent)
	v1.GET("/beneficiaries", readers, handle(h.list))
	v1.POST("/beneficiaries", writers, createFrom[beneficiaryRequest](beneficiaryView, h.svc.Create))
	v1.GET("/beneficiaries/:id", readers, getByID(beneficiaryView, h.svc.Get))
	v1.PATCH("/beneficiaries/:id", writers, patchByID[beneficiaryRequest](beneficiaryView, h.svc.Update))
}

func (h beneficiaryHandlers) list(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	overdue, err := queryInt(c, "overdue_days")
	if err != nil {
		return err
	}
	res, err := h.svc.List(c.Request.Context(), beneficiaries.Filter{
		Territory: c.Query("territory"), Status: c.Query("status"), OverdueDays: overdue, Page: page,
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toBeneficiaryDTO))
	return nil
}
