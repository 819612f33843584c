package api

import "time"

// Roles a role binding grants in one environment, weakest first: each role
// may do what the ones before it may. Admin is no role of an environment: it
// is the subject that may do everything, everywhere.
const (
	// RoleViewer reads objects and the audit records of the environment.
	RoleViewer = "viewer"
	// RoleInvoker may also start and cancel pipeline runs.
	RoleInvoker = "invoker"
	// RoleEditor may also create, change and delete objects.
	RoleEditor = "editor"
	// RoleOwner may also manage role bindings and approve model versions.
	RoleOwner = "owner"
)

// Roles lists the roles, weakest first.
var Roles = []string{RoleViewer, RoleInvoker, RoleEditor, RoleOwner}

// RoleRank orders roles: a higher rank includes every lower one. Unknown
// roles rank 0.
func RoleRank(role string) int {
	for i, r := range Roles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// SubjectAdmin is the subject of admin tokens, such as the bootstrap token.
const SubjectAdmin = "admin"

// ServiceAccountSpec is what a user declares about a service account, an
// identity for automation. It lives in no environment; role bindings grant it
// roles per environment.
type ServiceAccountSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
}

// ServiceAccount is an identity that tokens are issued to.
type ServiceAccount struct {
	Metadata Metadata           `json:"metadata"`
	Spec     ServiceAccountSpec `json:"spec"`
	Status   Status             `json:"status"`
}

// ServiceAccountList is one page of service accounts.
type ServiceAccountList struct {
	Items         []ServiceAccount `json:"items"`
	NextPageToken string           `json:"next_page_token,omitempty"`
}

// CreateServiceAccountRequest is the body of POST /v1/service-accounts.
type CreateServiceAccountRequest struct {
	Name string             `json:"name"`
	Spec ServiceAccountSpec `json:"spec"`
}

// UpdateServiceAccountRequest is the body of PUT /v1/service-accounts/{name}.
type UpdateServiceAccountRequest struct {
	Spec ServiceAccountSpec `json:"spec"`
}

// RoleBindingSpec grants a subject a role in the binding's environment.
type RoleBindingSpec struct {
	// Subject is the name of a service account. Immutable.
	Subject string `json:"subject"`
	// Role is viewer, invoker, editor or owner.
	Role string `json:"role"`
}

// RoleBinding is one grant of a role in an environment.
type RoleBinding struct {
	Metadata Metadata        `json:"metadata"`
	Spec     RoleBindingSpec `json:"spec"`
	Status   Status          `json:"status"`
}

// RoleBindingList is one page of role bindings.
type RoleBindingList struct {
	Items         []RoleBinding `json:"items"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

// CreateRoleBindingRequest is the body of POST .../role-bindings.
type CreateRoleBindingRequest struct {
	Name string          `json:"name"`
	Spec RoleBindingSpec `json:"spec"`
}

// UpdateRoleBindingRequest is the body of PUT .../role-bindings/{name}.
type UpdateRoleBindingRequest struct {
	Spec RoleBindingSpec `json:"spec"`
}

// IssueTokenRequest is the body of POST /v1/service-accounts/{name}/tokens.
type IssueTokenRequest struct {
	// TTLSeconds is how long the token works, 60..31536000 (a year).
	TTLSeconds int64 `json:"ttl_seconds"`
}

// Bounds of IssueTokenRequest.TTLSeconds.
const (
	MinTokenTTLSeconds = 60
	MaxTokenTTLSeconds = 365 * 24 * 3600
)

// IssuedToken is a new bearer token. Token is shown this once: the server
// keeps only its SHA-256 digest.
type IssuedToken struct {
	// ID names the token in logs without revealing it.
	ID string `json:"id"`
	// Token is the secret to send as "Authorization: Bearer <token>".
	Token string `json:"token"`
	// Subject is the service account the token acts as.
	Subject string `json:"subject"`
	// ExpiresAt is when the token stops working.
	ExpiresAt time.Time `json:"expires_at"`
}

// OpIDIssueServiceAccountToken is the operation id of POST
// /v1/service-accounts/{name}/tokens.
const OpIDIssueServiceAccountToken = "issueServiceAccountToken"
