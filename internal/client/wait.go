package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// The Wait methods wait for an object through mlopsd's long poll (GET with
// wait_for_generation, see poll.go): each returns as soon as mlopsd has
// seen the status settle, with no fixed polling interval. Against an mlopsd
// that does not long-poll they poll with a backoff instead. ctx bounds the
// whole wait; when it ends, the Settled methods return the last object read
// with an error that wraps ctx.Err().

// WaitEnvironmentSettled waits until the environment's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitEnvironmentSettled(ctx context.Context, name string, generation int64) (*api.Environment, error) {
	return waitSettled(ctx, c, waitTarget[api.Environment]{kind: api.KindEnvironment, env: "", name: name, view: func(o *api.Environment) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitEnvironmentGone waits until the environment no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitEnvironmentGone(ctx context.Context, name string) error {
	return waitGone(ctx, c, waitTarget[api.Environment]{kind: api.KindEnvironment, env: "", name: name, view: func(o *api.Environment) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitComputePoolSettled waits until the compute pool's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitComputePoolSettled(ctx context.Context, env, name string, generation int64) (*api.ComputePool, error) {
	return waitSettled(ctx, c, waitTarget[api.ComputePool]{kind: api.KindComputePool, env: env, name: name, view: func(o *api.ComputePool) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitComputePoolGone waits until the compute pool no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitComputePoolGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.ComputePool]{kind: api.KindComputePool, env: env, name: name, view: func(o *api.ComputePool) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitFeatureStoreSettled waits until the feature store's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitFeatureStoreSettled(ctx context.Context, env, name string, generation int64) (*api.FeatureStore, error) {
	return waitSettled(ctx, c, waitTarget[api.FeatureStore]{kind: api.KindFeatureStore, env: env, name: name, view: func(o *api.FeatureStore) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitFeatureStoreGone waits until the feature store no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitFeatureStoreGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.FeatureStore]{kind: api.KindFeatureStore, env: env, name: name, view: func(o *api.FeatureStore) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitFeatureGroupSettled waits until the feature group's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitFeatureGroupSettled(ctx context.Context, env, name string, generation int64) (*api.FeatureGroup, error) {
	return waitSettled(ctx, c, waitTarget[api.FeatureGroup]{kind: api.KindFeatureGroup, env: env, name: name, view: func(o *api.FeatureGroup) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitFeatureGroupGone waits until the feature group no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitFeatureGroupGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.FeatureGroup]{kind: api.KindFeatureGroup, env: env, name: name, view: func(o *api.FeatureGroup) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitModelSettled waits until the model's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitModelSettled(ctx context.Context, env, name string, generation int64) (*api.Model, error) {
	return waitSettled(ctx, c, waitTarget[api.Model]{kind: api.KindModel, env: env, name: name, view: func(o *api.Model) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitModelGone waits until the model no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitModelGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.Model]{kind: api.KindModel, env: env, name: name, view: func(o *api.Model) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitModelVersionSettled waits until the model version's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitModelVersionSettled(ctx context.Context, env, name string, generation int64) (*api.ModelVersion, error) {
	return waitSettled(ctx, c, waitTarget[api.ModelVersion]{kind: api.KindModelVersion, env: env, name: name, view: func(o *api.ModelVersion) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitModelVersionGone waits until the model version no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitModelVersionGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.ModelVersion]{kind: api.KindModelVersion, env: env, name: name, view: func(o *api.ModelVersion) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitModelAliasSettled waits until the model alias's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitModelAliasSettled(ctx context.Context, env, name string, generation int64) (*api.ModelAlias, error) {
	return waitSettled(ctx, c, waitTarget[api.ModelAlias]{kind: api.KindModelAlias, env: env, name: name, view: func(o *api.ModelAlias) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitModelAliasGone waits until the model alias no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitModelAliasGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.ModelAlias]{kind: api.KindModelAlias, env: env, name: name, view: func(o *api.ModelAlias) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitTrainingPipelineSettled waits until the training pipeline's status is settled (ready or failed) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitTrainingPipelineSettled(ctx context.Context, env, name string, generation int64) (*api.TrainingPipeline, error) {
	return waitSettled(ctx, c, waitTarget[api.TrainingPipeline]{kind: api.KindTrainingPipeline, env: env, name: name, view: func(o *api.TrainingPipeline) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitTrainingPipelineGone waits until the training pipeline no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitTrainingPipelineGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.TrainingPipeline]{kind: api.KindTrainingPipeline, env: env, name: name, view: func(o *api.TrainingPipeline) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitModelEndpointSettled waits until the model endpoint's status is settled (ready, failed or rolled back) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitModelEndpointSettled(ctx context.Context, env, name string, generation int64) (*api.ModelEndpoint, error) {
	return waitSettled(ctx, c, waitTarget[api.ModelEndpoint]{kind: api.KindModelEndpoint, env: env, name: name, view: func(o *api.ModelEndpoint) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitModelEndpointGone waits until the model endpoint no longer exists, after a delete
// that mlopsd answered with a teardown in progress.
func (c *Client) WaitModelEndpointGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.ModelEndpoint]{kind: api.KindModelEndpoint, env: env, name: name, view: func(o *api.ModelEndpoint) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}

// WaitPipelineRunSettled waits until the pipeline run's status is finished (succeeded, failed or cancelled) on its
// current generation, at least generation (that of the write to wait for),
// and returns it. Returns an error that IsNotFound when it is gone.
func (c *Client) WaitPipelineRunSettled(ctx context.Context, env, name string, generation int64) (*api.PipelineRun, error) {
	return waitSettled(ctx, c, waitTarget[api.PipelineRun]{kind: api.KindPipelineRun, env: env, name: name, view: func(o *api.PipelineRun) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitAlarmSettled waits until the alarm's status is settled (evaluated on
// its current generation, or failed), at least generation (that of the
// write to wait for), and returns it. Returns an error that IsNotFound
// when it is gone.
func (c *Client) WaitAlarmSettled(ctx context.Context, env, name string, generation int64) (*api.Alarm, error) {
	return waitSettled(ctx, c, waitTarget[api.Alarm]{kind: api.KindAlarm, env: env, name: name, view: func(o *api.Alarm) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Status.Settled }}, generation)
}

// WaitNotificationChannelSettled waits until the notification channel's
// status is settled (ready or failed) on its current generation, at least
// generation, and returns it. Returns an error that IsNotFound when it is
// gone.
func (c *Client) WaitNotificationChannelSettled(ctx context.Context, env, name string, generation int64) (*api.NotificationChannel, error) {
	return waitSettled(ctx, c, waitTarget[api.NotificationChannel]{kind: api.KindNotificationChannel, env: env, name: name, view: func(o *api.NotificationChannel) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitBatchInferenceJobSettled waits until the batch inference job's status
// is settled (armed or failed) on its current generation, at least
// generation, and returns it. Returns an error that IsNotFound when it is
// gone.
func (c *Client) WaitBatchInferenceJobSettled(ctx context.Context, env, name string, generation int64) (*api.BatchInferenceJob, error) {
	return waitSettled(ctx, c, waitTarget[api.BatchInferenceJob]{kind: api.KindBatchInferenceJob, env: env, name: name, view: func(o *api.BatchInferenceJob) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }}, generation)
}

// WaitBatchInferenceJobGone waits until the batch inference job no longer
// exists, after a delete that mlopsd answered with a teardown in progress.
func (c *Client) WaitBatchInferenceJobGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, c, waitTarget[api.BatchInferenceJob]{kind: api.KindBatchInferenceJob, env: env, name: name, view: func(o *api.BatchInferenceJob) (api.Metadata, func(int64) bool) { return o.Metadata, o.Status.Settled }})
}
