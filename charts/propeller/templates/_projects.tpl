{{/* Projects (src/controller/project-controller.ts): the Project controller's RBAC and the roles it binds. */}}

{{/* The effective config.projects, as a dict (see propeller.configDict). */}}
{{- define "propeller.projects" -}}
{{- (include "propeller.configDict" . | fromYaml).projects | toYaml }}
{{- end }}

{{/* Whether the chart grants and installs what the Project controller needs, as "true" or "". */}}
{{- define "propeller.projectsEnabled" -}}
{{- if and .Values.rbac.create (not .Values.watchNamespaces) (include "propeller.projects" . | fromYaml).enabled }}true{{ end }}
{{- end }}

{{/*
What the Project controller does (see src/k8s/project-gateway.ts), besides reading FlyteWorkflows, which
the workflow rules already allow everywhere. It binds the three project roles without holding what they
grant: `bind` on exactly those ClusterRoles lets it create RoleBindings to them, and nothing else
(no `escalate`, no other role). The ValidatingAdmissionPolicy in projects-admission.yaml confines its
writes further, to the namespaces of Projects and to the objects it keeps there.
*/}}
{{- define "propeller.projectRules" -}}
{{- $p := include "propeller.projects" . | fromYaml -}}
- apiGroups: ["flyte.propeller.dev"]
  resources: ["projects"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["flyte.propeller.dev"]
  resources: ["projects/status"]
  verbs: ["patch"]
# One namespace per domain. delete: for the DeleteEmpty and Delete deletion policies, and because the
# OwnerReferencesPermissionEnforcement admission plugin asks for it to set or remove an owner reference.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["resourcequotas", "limitranges"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["rolebindings"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["clusterroles"]
  verbs: ["bind"]
  resourceNames: [{{ $p.viewerRole | quote }}, {{ $p.submitterRole | quote }}, {{ $p.adminRole | quote }}]
{{- end }}

{{- define "propeller.viewerRules" -}}
- apiGroups: ["flyte.propeller.dev"]
  resources: ["flyteworkflows", "workflowdefinitions", "launchplans", "cacheentries"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["pods", "pods/log", "events"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/*
Patching a FlyteWorkflow is how its gates are approved, rejected and signalled, and how it is aborted.
Creating ConfigMaps is how a submitter ships task code without an image build (a task's code.configMap,
which the kubelet mounts into the pod): create only, so a submitter cannot read the namespace's other
ConfigMaps. The propeller itself needs nothing for it.
*/}}
{{- define "propeller.submitterRules" -}}
{{ include "propeller.viewerRules" . }}
- apiGroups: ["flyte.propeller.dev"]
  resources: ["flyteworkflows"]
  verbs: ["create", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create"]
{{- end }}

{{- define "propeller.adminRules" -}}
{{ include "propeller.submitterRules" . }}
- apiGroups: ["flyte.propeller.dev"]
  resources: ["workflowdefinitions", "launchplans", "cacheentries"]
  verbs: ["create", "patch", "delete"]
{{- end }}
