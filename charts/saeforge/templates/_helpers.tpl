{{/* The prefix of every object's name: the release name, with "saeforge" added unless it has it. */}}
{{- define "saeforge.fullname" -}}
{{- if contains "saeforge" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-saeforge" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "saeforge.labels" -}}
app.kubernetes.io/name: saeforge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "saeforge.operatorSelector" -}}
app.kubernetes.io/name: saeforge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "saeforge.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The namespaces the operator watches, as a JSON list; [] means every namespace. */}}
{{- define "saeforge.watchNamespaces" -}}
{{- if .Values.allNamespaces -}}
[]
{{- else if .Values.watchNamespaces -}}
{{ toJson .Values.watchNamespaces }}
{{- else -}}
{{ list .Release.Namespace | toJson }}
{{- end -}}
{{- end -}}

{{/*
What the operator may do where it runs TrainingRuns: read runs and write their status, create and
delete the Jobs it owns, read their pods, record Events, and create each run's trainer identity
(a ServiceAccount, and a Role naming that one run, owned by the run). It can grant only what it
holds itself: hence get on trainingruns and patch on trainingruns/status, and no escalate or bind.
It never reads pod logs or Secrets: the Jobs reference Secrets by name.
*/}}
{{- define "saeforge.operatorRules" -}}
- apiGroups: ["saeforge.dev"]
  resources: ["trainingruns"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["saeforge.dev"]
  resources: ["trainingruns/status"]
  verbs: ["patch"]
# Jobs name their run as owner with blockOwnerDeletion; OwnerReferencesPermissionEnforcement requires this.
- apiGroups: ["saeforge.dev"]
  resources: ["trainingruns/finalizers"]
  verbs: ["update"]
# patch: spec.suspend of a run's cache Job (spec.activations.parallelism) when the run is suspended.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "create"]
{{- end -}}
