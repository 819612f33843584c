package api

// Online store types of a feature store.
const (
	OnlineStoreNone     = "none"
	OnlineStoreEmbedded = "embedded"
)

// FeatureStoreSpec is what a user declares about a feature store.
type FeatureStoreSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// Labels are free key/value pairs.
	Labels map[string]string `json:"labels,omitempty"`
	// OfflineStoreURI is where offline (historical) feature data lives, e.g.
	// file:///data/features or s3://bucket/prefix. Immutable, because moving
	// it would orphan the data already written.
	OfflineStoreURI string `json:"offline_store_uri"`
	// OnlineStore is none or embedded (served by mlopsd).
	OnlineStore string `json:"online_store"`
}

// FeatureStore groups feature groups that share storage.
type FeatureStore struct {
	Metadata Metadata         `json:"metadata"`
	Spec     FeatureStoreSpec `json:"spec"`
	Status   Status           `json:"status"`
}

// FeatureStoreList is one page of feature stores.
type FeatureStoreList struct {
	Items         []FeatureStore `json:"items"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

// CreateFeatureStoreRequest is the body of POST .../feature-stores.
type CreateFeatureStoreRequest struct {
	Name string           `json:"name"`
	Spec FeatureStoreSpec `json:"spec"`
}

// UpdateFeatureStoreRequest is the body of PUT .../feature-stores/{name}.
type UpdateFeatureStoreRequest struct {
	Spec FeatureStoreSpec `json:"spec"`
}
