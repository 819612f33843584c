package api

// Value types of entities and features.
const (
	ValueTypeString    = "string"
	ValueTypeInt64     = "int64"
	ValueTypeFloat64   = "float64"
	ValueTypeBool      = "bool"
	ValueTypeTimestamp = "timestamp"
	ValueTypeBytes     = "bytes"
)

// ValueTypes lists every value type.
var ValueTypes = []string{ValueTypeString, ValueTypeInt64, ValueTypeFloat64, ValueTypeBool, ValueTypeTimestamp, ValueTypeBytes}

// Entity is a join key of a feature group, e.g. customer_id.
type Entity struct {
	Name      string `json:"name"`
	ValueType string `json:"value_type"`
}

// Feature is one typed column of a feature group.
type Feature struct {
	Name        string `json:"name"`
	ValueType   string `json:"value_type"`
	Description string `json:"description,omitempty"`
}

// FeatureGroupSpec is what a user declares about a feature group.
//
// Features may be added (an in-place change) but not removed or retyped,
// because rows already written would no longer match the schema; the server
// rejects that with the field path, and clients plan a replacement instead.
type FeatureGroupSpec struct {
	// FeatureStore is the name of the feature store in the same environment. Immutable.
	FeatureStore string `json:"feature_store"`
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// Labels are free key/value pairs.
	Labels map[string]string `json:"labels,omitempty"`
	// Entities are the join keys. Immutable.
	Entities []Entity `json:"entities"`
	// Features are the typed values, in declared order.
	Features []Feature `json:"features"`
	// Online serves the latest value per entity from the online store.
	Online bool `json:"online"`
	// Offline keeps history in the offline store.
	Offline bool `json:"offline"`
	// TTLSeconds is how long an online value stays valid; 0 means forever.
	TTLSeconds int64 `json:"ttl_seconds"`
	// SourceURI is where the group's data comes from, e.g. a table or path.
	SourceURI string `json:"source_uri,omitempty"`
}

// FeatureGroup is a typed set of features keyed by entities.
type FeatureGroup struct {
	Metadata Metadata         `json:"metadata"`
	Spec     FeatureGroupSpec `json:"spec"`
	Status   Status           `json:"status"`
}

// FeatureGroupList is one page of feature groups.
type FeatureGroupList struct {
	Items         []FeatureGroup `json:"items"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

// CreateFeatureGroupRequest is the body of POST .../feature-groups.
type CreateFeatureGroupRequest struct {
	Name string           `json:"name"`
	Spec FeatureGroupSpec `json:"spec"`
}

// UpdateFeatureGroupRequest is the body of PUT .../feature-groups/{name}.
type UpdateFeatureGroupRequest struct {
	Spec FeatureGroupSpec `json:"spec"`
}
