package api

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"parcours/services"
	"parcours/services/indicators"
)

type targetDTO struct {
	Year       int         `json:"year"`
	Value      json.Number `json:"value"`
	Comparator string      `json:"comparator"`
	Note       string      `json:"note"`
}

type indicatorDTO struct {
	Code       string             `json:"code"`
	ActionCode string             `json:"action_code"`
	Scope      string             `json:"scope"`
	Label      string             `json:"label"`
	Unit       string             `json:"unit"`
	Method     string             `json:"method"`
	Params     map[string]float64 `json:"params"`
	Targets    []targetDTO        `json:"targets"`
	Version    int                `json:"version"`
}

func toIndicatorDTO(ind indicators.Indicator) indicatorDTO {
	out := indicatorDTO{Code: ind.Code, ActionCode: ind.ActionCode, Scope: ind.Scope, Label: ind.Label, Unit: ind.Unit,
		Method: ind.Method, Params: ind.Params, Targets: make([]targetDTO, len(ind.Targets)), Version: ind.Version}
	if out.Params == nil {
		out.Params = map[string]float64{}
	}
	for i, t := range ind.Targets {
		out.Targets[i] = targetDTO{Year: t.Year, Value: number(t.Value), Comparator: t.Comparator, Note: t.Note}
	}
	return out
}

type indicatorRequest struct {
	Code       Optional[string]             `json:"code"`
	ActionCode Optional[string]             `json:"action_code"`
	Scope      Optional[string]             `json:"scope"`
	Label      Optional[string]             `json:"label"`
	Unit       Optional[string]             `json:"unit"`
	Method     Optional[string]             `json:"method"`
	Params     Optional[map[string]float64] `json:"params"`
	Targets    Optional[[]targetDTO]        `json:"targets"`
}

func (r indicatorRequest) input(v *services.Validator) indicators.Input {
	in := indicators.Input{
		ActionCode: optText(v, "action_code", r.ActionCode), Scope: optText(v, "scope", r.Scope),
		Label: optText(v, "label", r.Label), Unit: optText(v, "unit", r.Unit), Method: optText(v, "method", r.Method),
		Params: notNull(v, "params", r.Params),
	}
	if targets := notNull(v, "targets", r.Targets); targets != nil {
		list := make([]indicators.Target, len(*targets))
		for i, t := range *targets {
			value, err := decimal.NewFromString(t.Value.String())
			v.Check(err == nil, "targets.value", "must be a number")
			list[i] = indicators.Target{Year: t.Year, Value: value, Comparator: t.Comparator, Note: t.Note}
		}
		in.Targets = &list
	}
	return in
}

type reportRowDTO struct {
	Code             string             `json:"code"`
	Action           string             `json:"action"`
	Scope            string             `json:"scope"`
	Label            string             `json:"label"`
	Unit             string             `json:"unit"`
	Method           string             `json:"method"`
	Params           map[string]float64 `json:"params"`
	Target           *json.Number       `json:"target"`
	TargetComparator *string            `json:"target_comparator"`
	TargetNote       *string            `json:"target_note"`
	Value            *json.Number       `json:"value"`
}

type indicatorHandlers struct {
	svc *indicators.Service
}

func (h indicatorHandlers) get(c *gin.Context) error {
	ind, err := h.svc.Get(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, ind.Version, toIndicatorDTO(ind))
	return nil
}

func (h indicatorHandlers) create(c *gin.Context) error {
	var req indicatorRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var v services.Validator
	code := resourceCode(&v, req.Code, true, "indicator")
	in := req.input(&v)
	if err := inputErrors(&v, in, true); err != nil {
		return err
	}
	ind, err := h.svc.Create(c.Request.Context(), *code, in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/indicators/"+ind.Code)
	respond(c, http.StatusCreated, ind.Version, toIndicatorDTO(ind))
	return nil
}

func (h indicatorHandlers) update(c *gin.Context) error {
	version, err := expectedVersion(c)
	if err != nil {
		return err
	}
	var req indicatorRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var v services.Validator
	resourceCode(&v, req.Code, false, "indicator")
	in := req.input(&v)
	if err := inputErrors(&v, in, false); err != nil {
		return err
	}
	ind, err := h.svc.Update(c.Request.Context(), c.Param("code"), version, in)
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, ind.Version, toIndicatorDTO(ind))
	return nil
}

// territoryCodePattern is the form of a territory code (see the Territory schema).
var territoryCodePattern = regexp.MustCompile(`^[0-9AB]{2,3}-[A-Z0-9]+(-[A-Z0-9]+)*$`)

// queryTerritory reads the optional ?territory= filter: "" when absent or empty, a 400 when it
// cannot be a territory code.
func queryTerritory(c *gin.Context) (string, error) {
	code := c.Query("territory")
	if code != "" && (len(code) > 32 || !territoryCodePattern.MatchString(code)) {
		return "", badRequest("invalid territory", services.FieldError{Field: "territory", Message: "must be a territory code such as 47-AGEN1"})
	}
	return code, nil
}
