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

{{/* Gloo's writeNamespace: where Settings, the generated Gateways and Proxies live; the first half of node roles. */}}
{{- define "shardgate.writeNamespace" -}}
{{- .Values.settings.writeNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* The host name Envoys dial for xDS: the control plane Service's cluster DNS name. */}}
{{- define "shardgate.xdsHost" -}}
{{- printf "%s.%s.svc.%s" (include "shardgate.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* Whether the control plane reads the Kubernetes API server (the default) rather than a mounted folder. */}}
{{- define "shardgate.kubernetesSource" -}}
{{- if eq .Values.controlPlane.source "kubernetes" -}}true{{- end -}}
{{- end -}}

{{/* Whether the validating webhook is rendered and served: only in kubernetes mode, where objects are admitted. */}}
{{- define "shardgate.webhookEnabled" -}}
{{- if and .Values.webhook.enabled (include "shardgate.kubernetesSource" .) -}}true{{- end -}}
{{- end -}}

{{- define "shardgate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The labels that select the control plane's pods; never change them (selectors are immutable). */}}
{{- define "shardgate.controlPlaneSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{/* The labels that select one gateway proxy's pods. Context: dict "root" and "name". */}}
{{- define "shardgate.proxySelector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
gateway-proxy-id: {{ .name }}
{{- end -}}

{{/*
Deep-merges dict "src" into dict "dst", in place. Unlike sprig's merge/mergeOverwrite, every key of src wins,
including false, 0 and "" (so `gracefulShutdown: {enabled: false}` in an entry really turns off a default that
is true), and a null in src removes the key from dst. Maps merge key by key; lists and scalars are replaced.
*/}}
{{- define "shardgate.mergeInto" -}}
{{- $dst := .dst -}}
{{- range $key, $value := .src -}}
{{- if kindIs "invalid" $value -}}
{{- $_ := unset $dst $key -}}
{{- else if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "shardgate.mergeInto" (dict "dst" (get $dst $key) "src" $value) -}}
{{- else -}}
{{- $_ := set $dst $key (deepCopy $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The gateway proxies to deploy: fills dict "out" (name -> effective spec) from the root context "root". Each
enabled gatewayProxies entry is gatewayProxyDefaults deep-merged with the entry (mergeInto); the edge proxy, when
edge.enabled, is gatewayProxyDefaults merged with edge.proxy, its ports taken from the edge settings and the key
"edge" set to true. Names are taken as written and must be DNS labels: unlike Gloo, nothing is kebab-cased, so the
map key is exactly the proxy name Gateways list in proxyNames. Fails with the entry's name on what Kubernetes or
Envoy would refuse later.
*/}}
{{- define "shardgate.collectProxies" -}}
{{- $root := .root -}}
{{- $out := .out -}}
{{- $entries := deepCopy ($root.Values.gatewayProxies | default dict) -}}
{{- if $root.Values.edge.enabled -}}
{{- $edgeName := $root.Values.edge.proxyName -}}
{{- if hasKey $entries $edgeName -}}
{{- fail (printf "edge.proxyName %q is also a gatewayProxies entry: the edge shard needs a proxy name of its own" $edgeName) -}}
{{- end -}}
{{- $edge := deepCopy ($root.Values.edge.proxy | default dict) -}}
{{- $_ := set $entries $edgeName $edge -}}
{{- end -}}
{{- range $name, $entry := $entries -}}
{{- $isEdge := and $root.Values.edge.enabled (eq $name $root.Values.edge.proxyName) -}}
{{- $where := ternary "edge.proxyName" (printf "gatewayProxies.%s" $name) $isEdge -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "%s: gateway proxy name %q is not valid: use lowercase letters, digits and '-', starting and ending with a letter or digit (%q, say). Shardgate takes the name as written (Gloo kebab-cases it); it is the name Gateways list in proxyNames" $where $name (kebabcase $name | lower | replace "_" "-")) -}}
{{- end -}}
{{- if gt (len $name) 50 -}}
{{- fail (printf "%s: gateway proxy name %q is too long: at most 50 characters, so that %s-envoy-config stays a valid name" $where $name $name) -}}
{{- end -}}
{{- $spec := deepCopy $root.Values.gatewayProxyDefaults -}}
{{- include "shardgate.mergeInto" (dict "dst" $spec "src" ($entry | default dict)) -}}
{{- if $isEdge -}}
{{- $_ := set $spec "edge" true -}}
{{- $_ := set $spec "disabled" false -}}
{{- $_ := set $spec.podTemplate "httpPort" $root.Values.edge.bindPort -}}
{{- $_ := set $spec.podTemplate "httpsPort" $root.Values.edge.tlsBindPort -}}
{{- $_ := set $spec "gatewaySettings" (dict "enabled" false) -}}
{{- else -}}
{{- $_ := set $spec "edge" false -}}
{{- end -}}
{{- if not $spec.disabled -}}
{{- $pt := $spec.podTemplate -}}
{{- $ports := dict (printf "%d" (int $pt.httpPort)) "podTemplate.httpPort" -}}
{{- $claims := list (list $pt.httpsPort "podTemplate.httpsPort") (list $pt.adminPort "podTemplate.adminPort") -}}
{{- if $spec.stats.enabled -}}
{{- $claims = append $claims (list $spec.stats.port "stats.port") -}}
{{- end -}}
{{- range $claims -}}
{{- $key := printf "%d" (int (index . 0)) -}}
{{- if hasKey $ports $key -}}
{{- fail (printf "%s: %s and %s are both %s: each port of a gateway-proxy pod must be distinct" $where (get $ports $key) (index . 1) $key) -}}
{{- end -}}
{{- $_ := set $ports $key (index . 1) -}}
{{- end -}}
{{- if and $pt.probes (not $spec.stats.enabled) -}}
{{- fail (printf "%s: podTemplate.probes needs stats.enabled: the readiness probe asks the stats listener's /ready" $where) -}}
{{- end -}}
{{- if and $pt.gracefulShutdown.enabled $pt.terminationGracePeriodSeconds -}}
{{- if le (int $pt.terminationGracePeriodSeconds) (int $pt.gracefulShutdown.sleepTimeSeconds) -}}
{{- fail (printf "%s: podTemplate.terminationGracePeriodSeconds (%d) must be above gracefulShutdown.sleepTimeSeconds (%d), or the kubelet kills Envoy before the drain ends" $where (int $pt.terminationGracePeriodSeconds) (int $pt.gracefulShutdown.sleepTimeSeconds)) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out $name $spec -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Whether an effective proxy spec runs as a DaemonSet: kind.daemonSet is set (a map, possibly empty). */}}
{{- define "shardgate.isDaemonSet" -}}
{{- if kindIs "map" (get (.kind | default dict) "daemonSet") -}}true{{- end -}}
{{- end -}}

{{/*
The generated Gateways of one proxy, as a YAML list of Gateway specs with names. Context: dict "name", "spec" and
"root". `<name>` on podTemplate.httpPort and `<name>-ssl` on podTemplate.httpsPort (ssl: true), each with
proxyNames [<name>], bindAddress "::" (or "0.0.0.0" with ipv4Only) and httpGateway from customHttpGateway /
customHttpsGateway (else {}, which selects every VirtualService, as in Gloo).
*/}}
{{- define "shardgate.generatedGateways" -}}
{{- $gs := .spec.gatewaySettings -}}
{{- $list := list -}}
{{- if and $gs.enabled (not $gs.disableGeneratedGateways) -}}
{{- $bind := ternary "0.0.0.0" "::" (default false $gs.ipv4Only) -}}
{{- if not $gs.disableHttpGateway -}}
{{- $list = append $list (dict "name" .name "ssl" false "bindAddress" $bind "bindPort" (int .spec.podTemplate.httpPort) "httpGateway" ($gs.customHttpGateway | default dict)) -}}
{{- end -}}
{{- if not $gs.disableHttpsGateway -}}
{{- $list = append $list (dict "name" (printf "%s-ssl" .name) "ssl" true "bindAddress" $bind "bindPort" (int .spec.podTemplate.httpsPort) "httpGateway" ($gs.customHttpsGateway | default dict)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $list -}}
{{- end -}}

{{/* One generated Gateway as a full object. Context: dict "gw" (an item of generatedGateways), "proxy", "root". */}}
{{- define "shardgate.gatewayObject" -}}
apiVersion: gateway.solo.io/v1
kind: Gateway
metadata:
  name: {{ .gw.name }}
  namespace: {{ include "shardgate.writeNamespace" .root }}
  labels:
    {{- include "shardgate.labels" .root | nindent 4 }}
    app.kubernetes.io/component: gateway-proxy
    gateway-proxy-id: {{ .proxy }}
    # The webhook skips objects with this label (its objectSelector): these come from values the schema checked,
    # and an upgrade must be able to write them while no control plane serves the webhook yet.
    shardgate.io/generated-by-chart: "true"
spec:
  bindAddress: {{ .gw.bindAddress | quote }}
  bindPort: {{ int .gw.bindPort }}
  ssl: {{ .gw.ssl }}
  proxyNames:
  - {{ .proxy }}
  httpGateway:
    {{- if .gw.httpGateway }}
    {{- toYaml .gw.httpGateway | nindent 4 }}
    {{- else }} {}
    {{- end }}
{{- end -}}

{{/*
The Settings spec rendered from values (both source modes): write and watch namespaces, the gateway options, the
webhook's validation knobs and the edge shard. settings.extraSpec is merged over it.
*/}}
{{- define "shardgate.settingsSpec" -}}
{{- $root := . -}}
{{- $v := .Values -}}
{{- $ns := include "shardgate.writeNamespace" . -}}
{{- $spec := dict "discoveryNamespace" $ns -}}
{{- if $v.settings.watchNamespaces -}}
{{- $_ := set $spec "watchNamespaces" $v.settings.watchNamespaces -}}
{{- end -}}
{{- $gateway := dict "readGatewaysFromAllNamespaces" $v.settings.readGatewaysFromAllNamespaces "persistProxySpec" $v.settings.persistProxySpec -}}
{{- if include "shardgate.webhookEnabled" . -}}
{{- $_ := set $gateway "validation" (dict "serverEnabled" true "alwaysAccept" $v.webhook.alwaysAccept "allowWarnings" $v.webhook.allowWarnings) -}}
{{- end -}}
{{- $_ := set $spec "gateway" $gateway -}}
{{- if $v.edge.enabled -}}
{{- $proxies := dict -}}
{{- include "shardgate.collectProxies" (dict "root" . "out" $proxies) -}}
{{- $addresses := dict -}}
{{- $tlsAddresses := dict -}}
{{- range $name, $p := $proxies -}}
{{- if not $p.edge -}}
{{- $host := printf "%s.%s.svc.%s" $name $root.Release.Namespace $v.clusterDomain -}}
{{- $_ := set $addresses $name (printf "%s:%d" $host (int $p.service.httpPort)) -}}
{{- $gws := include "shardgate.generatedGateways" (dict "name" $name "spec" $p "root" $root) | fromYamlArray -}}
{{- range $gws -}}
{{- if .ssl -}}
{{- $_ := set $tlsAddresses $name (printf "%s:%d" $host (int $p.service.httpsPort)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := mergeOverwrite $addresses ($v.edge.shardAddresses | default dict) -}}
{{- $_ := mergeOverwrite $tlsAddresses ($v.edge.shardTlsAddresses | default dict) -}}
{{- $edge := dict "enabled" true "proxyName" $v.edge.proxyName "bindAddress" $v.edge.bindAddress "bindPort" (int $v.edge.bindPort) "tlsBindPort" (int $v.edge.tlsBindPort) "tlsMode" $v.edge.tlsMode -}}
{{- if $addresses -}}
{{- $_ := set $edge "shardAddresses" $addresses -}}
{{- end -}}
{{- if $tlsAddresses -}}
{{- $_ := set $edge "shardTlsAddresses" $tlsAddresses -}}
{{- end -}}
{{- $_ := set $spec "shardgate" (dict "edge" $edge) -}}
{{- end -}}
{{- include "shardgate.mergeInto" (dict "dst" $spec "src" ($v.settings.extraSpec | default dict)) -}}
{{- toYaml $spec -}}
{{- end -}}

{{/*
The Envoy bootstrap of one gateway proxy. Context: dict "root" (the chart's top context), "name" (the proxy
name) and "spec" (its effective spec).

It MUST stay the same YAML tree as io.shardgate.templates.BootstrapRenderer.render(params) for the parameters
proxyName=name, namespace=writeNamespace, xdsHost=shardgate.xdsHost, xdsPort=controlPlane.xdsPort,
adminAddress=podTemplate.loopBackAddress, adminPort=podTemplate.adminPort, statsPort=stats.port (0 when stats are
off), statsAddress=stats.address, and defaults otherwise (plaintext SotW ADS): HelmChartTest in the proxy-templates
module renders this chart and fails on any difference. Comments explaining each part are in the renderer's
template, proxy-templates/src/main/resources/io/shardgate/templates/gateway-proxy-bootstrap.yaml.
node.id is the renderer's default `<name>.<writeNamespace>`; each pod overrides it with --service-node.
*/}}
{{- define "shardgate.bootstrap" -}}
{{- $root := .root -}}
{{- $ns := include "shardgate.writeNamespace" $root -}}
{{- $xdsHost := include "shardgate.xdsHost" $root -}}
{{- $admin := .spec.podTemplate.loopBackAddress -}}
{{- $adminPort := int .spec.podTemplate.adminPort -}}
node:
  id: {{ printf "%s.%s" .name $ns | quote }}
  cluster: "gateway"
  metadata:
    role: {{ printf "%s~%s" $ns .name | quote }}
admin:
  address:
    socket_address:
      address: {{ $admin | quote }}
      port_value: {{ $adminPort }}
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
{{- if .spec.stats.enabled }}
  listeners:
  - name: prometheus_listener
    address:
      socket_address:
        address: {{ .spec.stats.address | quote }}
        port_value: {{ int .spec.stats.port }}
    ignore_global_conn_limit: true
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: prometheus
          route_config:
            name: prometheus_route
            virtual_hosts:
            - name: prometheus
              domains: ["*"]
              routes:
              - match: { path: /ready }
                route: { cluster: admin_port_cluster }
              - match: { path: /metrics }
                route: { cluster: admin_port_cluster, prefix_rewrite: /stats/prometheus }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
{{- end }}
  clusters:
{{- if .spec.stats.enabled }}
  - name: admin_port_cluster
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: admin_port_cluster
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: {{ $admin | quote }}
                port_value: {{ $adminPort }}
{{- end }}
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

{{/*
The preStop drain of a gateway-proxy pod, as one bash command line. Context: the effective spec. It asks Envoy's
admin (on loopback) to fail its health checks: the stats listener's /ready turns 503, so the pod leaves its
Service's endpoints, and Envoy closes connections as their requests finish (Connection: close, HTTP/2 GOAWAY) while
it still accepts new ones. Then it sleeps, so in-flight requests and late-arriving clients are served before the
kubelet sends SIGTERM. bash's /dev/tcp is used because the envoyproxy/envoy image has bash but not always curl or
wget. /drain_listeners is not used: it closes the listeners at the end of the drain time, refusing clients whose
load balancer has not yet seen the endpoint go.
*/}}
{{- define "shardgate.preStopDrain" -}}
{{- $admin := .podTemplate.loopBackAddress -}}
{{- printf "exec 3<>/dev/tcp/%s/%d && printf 'POST /healthcheck/fail HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' >&3 && cat <&3 >/dev/null; sleep %d" $admin (int .podTemplate.adminPort) (int .podTemplate.gracefulShutdown.sleepTimeSeconds) -}}
{{- end -}}
