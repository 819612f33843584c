package server

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

func serviceAccountKind() *kind[api.ServiceAccountSpec] {
	return &kind[api.ServiceAccountSpec]{
		name: api.KindServiceAccount,
		validate: func(s *api.ServiceAccountSpec) error {
			return validateDescription("spec.description", s.Description)
		},
		initialStatus: func(*api.ServiceAccountSpec) any {
			return readyStatus("service account is ready")
		},
		// A service account still named by role bindings would leave grants
		// that a new account of the same name silently inherits.
		deleteCheck: func(ctx context.Context, v store.View, obj *store.Object) error {
			envs, err := v.ListAll(ctx, api.KindEnvironment, "")
			if err != nil {
				return err
			}
			for _, env := range envs {
				bindings, err := v.ListAll(ctx, api.KindRoleBinding, env.Meta.Name)
				if err != nil {
					return err
				}
				for _, b := range bindings {
					spec, err := decodeRoleBinding(b)
					if err != nil {
						return err
					}
					if spec.Subject == obj.Meta.Name {
						return api.Errorf(api.ECONFLICT, "",
							"service account %q is still bound by role binding %q in environment %q; delete the role bindings first",
							obj.Meta.Name, b.Meta.Name, env.Meta.Name)
					}
				}
			}
			return nil
		},
	}
}

// validateServiceAccountName refuses names that mean something else to
// the authorizer.
func validateServiceAccountName(name string) error {
	if name == api.SubjectAdmin {
		return api.Errorf(api.EINVALID, "name", "%q is reserved for admin tokens; choose another service account name", name)
	}
	return nil
}

func roleBindingKind() *kind[api.RoleBindingSpec] {
	return &kind[api.RoleBindingSpec]{
		name: api.KindRoleBinding,
		validate: func(s *api.RoleBindingSpec) error {
			if err := validateName("spec.subject", s.Subject); err != nil {
				return err
			}
			return oneOf("spec.role", s.Role, api.Roles...)
		},
		immutable: func(old, s *api.RoleBindingSpec) error {
			if old.Subject != s.Subject {
				return api.Errorf(api.EINVALID, "spec.subject",
					"cannot change from %q to %q: a role binding grants one subject; create another binding instead (Terraform plans this as a replacement)", old.Subject, s.Subject)
			}
			return nil
		},
		crossCheck: func(ctx context.Context, v store.View, ref api.Ref, s *api.RoleBindingSpec) error {
			_, err := v.Get(ctx, api.Ref{Kind: api.KindServiceAccount, Name: s.Subject})
			if isCode(err, api.ENOTFOUND) {
				return api.Errorf(api.EINVALID, "spec.subject",
					"service account %q does not exist; create it first (mlops_service_account)", s.Subject)
			}
			return err
		},
		initialStatus: func(*api.RoleBindingSpec) any {
			return readyStatus("role binding is in effect")
		},
	}
}
