{{/* The Settings object `default` in writeNamespace. */}}
{{- define "shardgate.settingsObject" -}}
apiVersion: gloo.solo.io/v1
kind: Settings
metadata:
  name: default
  namespace: {{ include "shardgate.writeNamespace" . }}
  labels:
    {{- include "shardgate.labels" . | nindent 4 }}
    app.kubernetes.io/component: control-plane
spec:
  {{- include "shardgate.settingsSpec" . | nindent 2 }}
{{- end -}}

{{/* Every generated Gateway of every enabled proxy, as YAML documents separated by `---`, sorted by proxy name. */}}
{{- define "shardgate.gatewayObjects" -}}
{{- $root := . -}}
{{- $proxies := dict -}}
{{- include "shardgate.collectProxies" (dict "root" . "out" $proxies) -}}
{{- $docs := list -}}
{{- range $name, $spec := $proxies -}}
{{- range (include "shardgate.generatedGateways" (dict "name" $name "spec" $spec "root" $root) | fromYamlArray) -}}
{{- $docs = append $docs (include "shardgate.gatewayObject" (dict "gw" . "proxy" $name "root" $root)) -}}
{{- end -}}
{{- end -}}
{{- join "\n---\n" $docs -}}
{{- end -}}

{{/* Directory mode: the generated Settings and Gateways as the documents of one file. */}}
{{- define "shardgate.generatedDocuments" -}}
{{- $docs := list -}}
{{- if .Values.settings.create -}}
{{- $docs = append $docs (include "shardgate.settingsObject" .) -}}
{{- end -}}
{{- $gateways := include "shardgate.gatewayObjects" . -}}
{{- if $gateways -}}
{{- $docs = append $docs $gateways -}}
{{- end -}}
{{- join "\n---\n" $docs -}}
{{- end -}}


{{/* The list and watch rules of every namespace read (docs/kubernetes.md "RBAC"). */}}
{{- define "shardgate.readRules" -}}
- apiGroups: [gateway.solo.io]
  resources: [gateways, virtualservices, routetables]
  verbs: [list, watch]
- apiGroups: [gloo.solo.io]
  resources: [upstreams, upstreamgroups]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [services, pods, secrets]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
{{- end -}}
