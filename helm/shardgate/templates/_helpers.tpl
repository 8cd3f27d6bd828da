{{/* The control plane's name: `<release>-shardgate`, or the release name alone when it already says shardgate. */}}
{{- define "shardgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The host name Envoys dial for xDS: the control plane Service's cluster DNS name. */}}
{{- define "shardgate.xdsHost" -}}
{{- printf "%s.%s.svc.%s" (include "shardgate.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{- define "shardgate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The gateway proxies to deploy, as YAML: a map name -> spec with every field filled in. The gatewayProxies
entries, plus the edge proxy when edge.enabled. Explicit values win, including 0 replicas.
*/}}
{{- define "shardgate.gatewayProxies" -}}
{{- $all := deepCopy (.Values.gatewayProxies | default dict) -}}
{{- if .Values.edge.enabled -}}
{{- $_ := set $all .Values.edge.name (omit .Values.edge "enabled" "name") -}}
{{- end -}}
{{- $out := dict -}}
{{- range $name, $spec := $all -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "gateway proxy name %q is not valid: use lowercase letters, digits and '-', starting and ending with a letter or digit (like gateway-proxy-protected)" $name) -}}
{{- end -}}
{{- if gt (len $name) 50 -}}
{{- fail (printf "gateway proxy name %q is too long: at most 50 characters, so that %s-envoy-config stays a valid name" $name $name) -}}
{{- end -}}
{{- $spec = $spec | default dict -}}
{{- $service := $spec.service | default dict -}}
{{- $_ := set $out $name (dict
      "replicas" (ternary $spec.replicas 1 (hasKey $spec "replicas"))
      "httpPort" (ternary $spec.httpPort 8080 (hasKey $spec "httpPort"))
      "adminPort" (ternary $spec.adminPort 19000 (hasKey $spec "adminPort"))
      "resources" ($spec.resources | default dict)
      "service" (dict
        "type" ($service.type | default "LoadBalancer")
        "httpPort" ($service.httpPort | default 80))) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The Envoy bootstrap of one gateway proxy. Context: dict "root" (the chart's top context), "name" (the proxy
name) and "adminPort".

It MUST stay the same YAML tree as io.shardgate.templates.BootstrapRenderer.render(params) for the parameters
proxyName=name, namespace=writeNamespace, xdsHost=shardgate.xdsHost, xdsPort=controlPlane.xdsPort,
adminPort=adminPort and defaults otherwise (plaintext SotW ADS, no stats listener): HelmChartTest in the
proxy-templates module renders this chart and fails on any difference. Comments explaining each part are in the
renderer's template, proxy-templates/src/main/resources/io/shardgate/templates/gateway-proxy-bootstrap.yaml.
node.id is the renderer's default `<name>.<writeNamespace>`; each pod overrides it with --service-node.
*/}}
{{- define "shardgate.bootstrap" -}}
{{- $root := .root -}}
{{- $ns := $root.Values.writeNamespace -}}
{{- $xdsHost := include "shardgate.xdsHost" $root -}}
node:
  id: {{ printf "%s.%s" .name $ns | quote }}
  cluster: "gateway"
  metadata:
    role: {{ printf "%s~%s" $ns .name | quote }}
admin:
  address:
    socket_address:
      address: "127.0.0.1"
      port_value: {{ int .adminPort }}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - envoy_grpc:
        cluster_name: xds_cluster
    set_node_on_first_message_only: true
  lds_config:
    ads: {}
    resource_api_version: V3
  cds_config:
    ads: {}
    resource_api_version: V3
static_resources:
  clusters:
  - name: xds_cluster
    type: STRICT_DNS
    connect_timeout: 5s
    upstream_connection_options:
      tcp_keepalive:
        keepalive_time: 60
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
    load_assignment:
      cluster_name: xds_cluster
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: {{ $xdsHost | quote }}
                port_value: {{ int $root.Values.controlPlane.xdsPort }}
overload_manager:
  resource_monitors:
  - name: envoy.resource_monitors.global_downstream_max_connections
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
      max_active_downstream_connections: 250000
layered_runtime:
  layers:
  - name: static_layer
    static_layer:
      upstream.healthy_panic_threshold: 50
  - name: admin_layer
    admin_layer: {}
{{- end -}}
