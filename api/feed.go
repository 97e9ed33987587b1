package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/feed"
)

// feedEventDTO is one event of the change feed.
type feedEventDTO struct {
	ID             int64           `json:"id"`
	Cursor         string          `json:"cursor"`
	EntityType     string          `json:"entity_type"`
	EntityID       int64           `json:"entity_id"`
	Action         string          `json:"action"`
	BeneficiaryID  int64           `json:"beneficiary_id"`
	OrganisationID int64           `json:"organisation_id"`
	TerritoryCode  string          `json:"territory_code"`
	OccurredAt     time.Time       `json:"occurred_at"`
	Payload        json.RawMessage `json:"payload"`
}

func toFeedEventDTO(e feed.Event) feedEventDTO {
	return feedEventDTO{ID: e.ID, Cursor: *encodeCursor(e.Position), EntityType: string(e.EntityType), EntityID: e.EntityID,
		Action: string(e.Action), BeneficiaryID: e.BeneficiaryID, OrganisationID: e.OrganisationID,
		TerritoryCode: e.TerritoryCode, OccurredAt: e.OccurredAt.UTC(), Payload: e.Payload}
}

type feedHandlers struct {
	svc *feed.Service
}

// registerFeed adds the change feed partners follow (administrators, agents and partners,
// each in its scope) and the audit trail administrators read.
func registerFeed(v1 *gin.RouterGroup, d Deps) {
	h := feedHandlers{svc: feed.New(d.DB)}
	v1.GET("/events", requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner), handle(h.list))
	registerAuditEvents(v1, d)
}

func (h feedHandlers) list(c *gin.Context) error {
	page, err := feedPosition(c)
	if err != nil {
		return err
	}
	res, err := h.svc.List(c.Request.Context(), page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toFeedEventDTO))
	return nil
}

// feedPosition reads ?limit= and the position to read on from: ?after=, or ?cursor= (the
// name every other list uses) when there is no ?after=.
func feedPosition(c *gin.Context) (services.PageRequest, error) {
	page, err := pageRequest(c)
	if err != nil {
		return page, err
	}
	if raw := c.Query("after"); raw != "" {
		if page.After, err = decodeCursor(raw); err != nil {
			return page, badRequest("invalid after", services.FieldError{Field: "after", Message: "is not a cursor this API returned"})
		}
	}
	return page, nil
}
