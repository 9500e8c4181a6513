{{/* Chart name, or nameOverride. */}}
{{- define "propeller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix: fullnameOverride, else the release name (plus the chart name unless it is already in it). */}}
{{- define "propeller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "propeller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "propeller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "propeller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "propeller.labels" -}}
helm.sh/chart: {{ include "propeller.chart" . }}
{{ include "propeller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: propeller
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The metrics Service: a DNS-1035 label, so at most 63 characters with its suffix. */}}
{{- define "propeller.metricsServiceName" -}}
{{- printf "%s-metrics" (include "propeller.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "propeller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "propeller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "propeller.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The effective configuration file, as a dict: .Values.config plus what the chart decides.
- namespaces comes from watchNamespaces, so RBAC and the watch always agree.
- leaderElection.enabled defaults to (replicaCount > 1); explicitly false with several replicas fails.
- leaderElection.name defaults to "<fullname>-leader", so two releases in one namespace never share a Lease.
- projects.enabled defaults to true, but to false with watchNamespaces (explicitly true with them fails);
  projects.viewerRole, submitterRole and adminRole default to "<fullname>-viewer", "-submitter", "-admin".
*/}}
{{- define "propeller.configDict" -}}
{{- $config := deepCopy .Values.config }}
{{- $le := deepCopy (default dict $config.leaderElection) }}
{{- $replicas := int .Values.replicaCount }}
{{- if hasKey $le "enabled" }}
{{- if and (gt $replicas 1) (not $le.enabled) }}
{{- fail (printf "replicaCount is %d but config.leaderElection.enabled is false: several active propellers would reconcile the same workflows at once. Remove config.leaderElection.enabled (it then defaults to true above one replica) or set replicaCount to 1." $replicas) }}
{{- end }}
{{- else }}
{{- $_ := set $le "enabled" (gt $replicas 1) }}
{{- end }}
{{- if not $le.name }}
{{- $_ := set $le "name" (printf "%s-leader" (include "propeller.fullname" .)) }}
{{- end }}
{{- $_ := set $config "leaderElection" $le }}
{{- $projects := deepCopy (default dict $config.projects) }}
{{- if .Values.watchNamespaces }}
{{- if and (hasKey $projects "enabled") $projects.enabled }}
{{- fail "config.projects.enabled is true but watchNamespaces is set: the Project controller creates namespaces, which a propeller confined to some namespaces cannot. Remove config.projects.enabled (it is then off with watchNamespaces) or empty watchNamespaces." }}
{{- end }}
{{- $_ := set $projects "enabled" false }}
{{- else if not (hasKey $projects "enabled") }}
{{- $_ := set $projects "enabled" true }}
{{- end }}
{{- range $role := list "viewer" "submitter" "admin" }}
{{- $key := printf "%sRole" $role }}
{{- if not (get $projects $key) }}
{{- $_ := set $projects $key (printf "%s-%s" (include "propeller.fullname" $) $role) }}
{{- end }}
{{- end }}
{{- $_ := set $config "projects" $projects }}
{{- $_ := set $config "namespaces" (default list .Values.watchNamespaces) }}
{{- toYaml $config }}
{{- end }}

{{/* Whether leader election is on, as "true" or "". */}}
{{- define "propeller.leaderElection" -}}
{{- $config := include "propeller.configDict" . | fromYaml }}
{{- if $config.leaderElection.enabled }}true{{ end }}
{{- end }}

{{- define "propeller.leaseNamespace" -}}
{{- default .Release.Namespace (.Values.config.leaderElection).namespace }}
{{- end }}

{{- define "propeller.leaseName" -}}
{{- (include "propeller.configDict" . | fromYaml).leaderElection.name }}
{{- end }}

{{- define "propeller.serverPort" -}}
{{- int (default 10254 (.Values.config.server).port) }}
{{- end }}

{{/* Seconds the kubelet waits after SIGTERM: the propeller's own shutdown timeout plus a 5 s margin. */}}
{{- define "propeller.terminationGracePeriodSeconds" -}}
{{- $ms := 10000 }}
{{- if hasKey .Values.config "shutdownTimeoutMs" }}{{ $ms = int .Values.config.shutdownTimeoutMs }}{{ end }}
{{- add (div (add $ms 999) 1000) 5 }}
{{- end }}

{{/* What the propeller does in a namespace it watches (see src/k8s/). */}}
{{- define "propeller.workflowRules" -}}
# Launch plans create their scheduled runs, abort them (Replace) and delete old ones (history limits).
- apiGroups: ["flyte.propeller.dev"]
  resources: ["flyteworkflows"]
  verbs: ["get", "list", "watch", "patch", "create", "delete"]
- apiGroups: ["flyte.propeller.dev"]
  resources: ["workflowdefinitions", "launchplans"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["flyte.propeller.dev"]
  resources: ["workflowdefinitions/status", "launchplans/status"]
  verbs: ["patch"]
- apiGroups: ["flyte.propeller.dev"]
  resources: ["flyteworkflows/status"]
  verbs: ["patch"]
# Task pods carry an owner reference with blockOwnerDeletion, which needs update on the owner's finalizers.
- apiGroups: ["flyte.propeller.dev"]
  resources: ["flyteworkflows/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create", "delete", "get", "list", "watch"]
# Task caching: entries live in the workflows' namespaces; the propeller reserves, writes, renews and expires them.
- apiGroups: ["flyte.propeller.dev"]
  resources: ["cacheentries"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
