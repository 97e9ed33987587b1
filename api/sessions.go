package api

import "github.com/gin-gonic/gin"

// registerSessions adds the routes of this capability (being written).
func registerSessions(v1 *gin.RouterGroup, d Deps) {}
