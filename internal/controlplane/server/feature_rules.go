package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

const maxTTLSeconds = 10 * 365 * 24 * 3600

func featureStoreKind() *kind[api.FeatureStoreSpec] {
	return &kind[api.FeatureStoreSpec]{
		name: api.KindFeatureStore,
		validate: func(s *api.FeatureStoreSpec) error {
			if err := validateDescription("spec.description", s.Description); err != nil {
				return err
			}
			if err := validateLabels(s.Labels); err != nil {
				return err
			}
			if s.OfflineStoreURI != "" && !uriRE.MatchString(s.OfflineStoreURI) {
				return api.Errorf(api.EINVALID, "spec.offline_store_uri", "%q is not a URI; use scheme://location, e.g. file:///data/features or s3://bucket/prefix", s.OfflineStoreURI)
			}
			if s.OnlineStore == "" {
				s.OnlineStore = api.OnlineStoreEmbedded
			}
			return oneOf("spec.online_store", s.OnlineStore, api.OnlineStoreNone, api.OnlineStoreEmbedded)
		},
		immutable: func(old, s *api.FeatureStoreSpec) error {
			if old.OfflineStoreURI != s.OfflineStoreURI {
				return immutableErr("spec.offline_store_uri", old.OfflineStoreURI, s.OfflineStoreURI)
			}
			return nil
		},
		// Ready as soon as stored, like environments and models: see
		// reconcile/ready.go for why generation 1 is settled here.
		initialStatus: func(*api.FeatureStoreSpec) any { return readyStatus("feature store is ready") },
	}
}

func featureGroupKind() *kind[api.FeatureGroupSpec] {
	return &kind[api.FeatureGroupSpec]{
		name:     api.KindFeatureGroup,
		validate: validateFeatureGroup,
		immutable: func(old, s *api.FeatureGroupSpec) error {
			if old.FeatureStore != s.FeatureStore {
				return immutableErr("spec.feature_store", old.FeatureStore, s.FeatureStore)
			}
			if len(old.Entities) != len(s.Entities) {
				return api.NewError(api.EINVALID, "spec.entities", "entities cannot change in place: stored rows are keyed by them; replace the feature group instead")
			}
			for i := range old.Entities {
				if old.Entities[i] != s.Entities[i] {
					return api.NewError(api.EINVALID, fmt.Sprintf("spec.entities[%d]", i), "entities cannot change in place: stored rows are keyed by them; replace the feature group instead")
				}
			}
			return featureSchemaChange(old.Features, s.Features)
		},
		crossCheck: func(ctx context.Context, v store.View, ref api.Ref, s *api.FeatureGroupSpec) error {
			fs, err := v.Get(ctx, api.Ref{Kind: api.KindFeatureStore, Environment: ref.Environment, Name: s.FeatureStore})
			var apiErr *api.Error
			if errors.As(err, &apiErr) && apiErr.Code == api.ENOTFOUND {
				return api.Errorf(api.EINVALID, "spec.feature_store", "feature store %q does not exist in environment %q; create it first (mlops_feature_store) or fix the name", s.FeatureStore, ref.Environment)
			}
			if err != nil {
				return err
			}
			if fs.Meta.DeletionRequestedAt != nil {
				return api.Errorf(api.EINVALID, "spec.feature_store", "feature store %q is being deleted; use another one", s.FeatureStore)
			}
			return nil
		},
		parentOf:      func(s *api.FeatureGroupSpec) string { return api.KindFeatureStore + "/" + s.FeatureStore },
		initialStatus: func(*api.FeatureGroupSpec) any { return readyStatus("feature group is ready") },
	}
}

// featureSchemaChange reports why a feature list cannot replace another in
// place: rows already written hold every old feature with its old type, so
// only additions (and description edits or reordering) are safe.
func featureSchemaChange(old, updated []api.Feature) error {
	byName := map[string]api.Feature{}
	for _, f := range updated {
		byName[f.Name] = f
	}
	for _, f := range old {
		nf, ok := byName[f.Name]
		if !ok {
			return api.Errorf(api.EINVALID, "spec.features", "feature %q was removed; removing a feature cannot be done in place because stored rows hold it; replace the feature group instead", f.Name)
		}
		if nf.ValueType != f.ValueType {
			for i, x := range updated {
				if x.Name == f.Name {
					return api.Errorf(api.EINVALID, fmt.Sprintf("spec.features[%d].value_type", i), "feature %q cannot change type from %s to %s in place because stored rows hold the old type; replace the feature group, or add a new feature", f.Name, f.ValueType, nf.ValueType)
				}
			}
		}
	}
	return nil
}

func validateFeatureGroup(s *api.FeatureGroupSpec) error {
	if err := validateName("spec.feature_store", s.FeatureStore); err != nil {
		return err
	}
	if err := validateDescription("spec.description", s.Description); err != nil {
		return err
	}
	if err := validateLabels(s.Labels); err != nil {
		return err
	}
	if len(s.Entities) < 1 || len(s.Entities) > 16 {
		return api.Errorf(api.EINVALID, "spec.entities", "has %d entities; declare 1 to 16 join keys", len(s.Entities))
	}
	if len(s.Features) < 1 || len(s.Features) > 1000 {
		return api.Errorf(api.EINVALID, "spec.features", "has %d features; declare 1 to 1000", len(s.Features))
	}
	seen := map[string]string{}
	for i, e := range s.Entities {
		field := fmt.Sprintf("spec.entities[%d]", i)
		if !identifierRE.MatchString(e.Name) {
			return api.Errorf(api.EINVALID, field+".name", "%q is not a valid entity name; use lowercase letters, digits and '_', starting with a letter or '_'", e.Name)
		}
		if err := oneOf(field+".value_type", e.ValueType, api.ValueTypeString, api.ValueTypeInt64, api.ValueTypeBytes); err != nil {
			return err
		}
		if prev, dup := seen[e.Name]; dup {
			return api.Errorf(api.EINVALID, field+".name", "%q is already used by %s; names must be unique across entities and features", e.Name, prev)
		}
		seen[e.Name] = field
	}
	for i, f := range s.Features {
		field := fmt.Sprintf("spec.features[%d]", i)
		if !identifierRE.MatchString(f.Name) {
			return api.Errorf(api.EINVALID, field+".name", "%q is not a valid feature name; use lowercase letters, digits and '_', starting with a letter or '_'", f.Name)
		}
		if err := oneOf(field+".value_type", f.ValueType, api.ValueTypes...); err != nil {
			return err
		}
		if err := validateDescription(field+".description", f.Description); err != nil {
			return err
		}
		if prev, dup := seen[f.Name]; dup {
			return api.Errorf(api.EINVALID, field+".name", "%q is already used by %s; names must be unique across entities and features", f.Name, prev)
		}
		seen[f.Name] = field
	}
	if !s.Online && !s.Offline {
		return api.NewError(api.EINVALID, "spec.offline", "a feature group must be online, offline or both; set online or offline to true")
	}
	if err := validateRange("spec.ttl_seconds", s.TTLSeconds, 0, maxTTLSeconds); err != nil {
		return err
	}
	if s.SourceURI != "" && !uriRE.MatchString(s.SourceURI) {
		return api.Errorf(api.EINVALID, "spec.source_uri", "%q is not a URI; use scheme://location, e.g. file:///data/events.parquet or bigquery://project.dataset.table", s.SourceURI)
	}
	return nil
}
