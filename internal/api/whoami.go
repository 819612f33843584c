package api

import "net/http"

// WhoAmI is the answer of GET /v1/whoami: who the caller's token acts as,
// so that a client (the console) can show what the caller may do. The
// server still checks every request; this only saves offering what would
// be refused.
type WhoAmI struct {
	// Actor is the name audit records give the caller, e.g.
	// "service-account:ci" or "anonymous".
	Actor string `json:"actor"`
	// Subject is "admin" or a service account's name.
	Subject string `json:"subject"`
	// Admin is true for admin tokens, and for every caller when mlopsd
	// runs without authentication.
	Admin bool `json:"admin"`
	// AuthEnabled is false when mlopsd checks no tokens (the loopback
	// development default).
	AuthEnabled bool `json:"auth_enabled"`
	// Roles are the caller's roles by environment, from its role bindings;
	// empty for admin, who may do everything everywhere.
	Roles map[string]string `json:"roles,omitempty"`
}

// OpIDWhoAmI is the operation ID of GET /v1/whoami.
const OpIDWhoAmI = "whoAmI"

var whoAmIRoutes = []Route{
	{Method: http.MethodGet, Path: "/v1/whoami", OperationID: OpIDWhoAmI,
		Summary:  "Who the bearer token acts as, and its roles by environment (any valid token).",
		Response: WhoAmI{}, Status: http.StatusOK},
}
