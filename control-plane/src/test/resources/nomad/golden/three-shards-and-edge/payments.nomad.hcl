# Rendered by `shardgate render nomad` from the Helm chart's values; render again rather than editing.
# Gateway proxy shard payments: Envoys with the role gateways~payments, which get their
# config over xDS from the control plane found in Consul as gloo-xds.
job "payments" {
  datacenters = ["*"]
  # kind.deployment: replicas Envoys.
  type = "service"

  group "gateway-proxy" {
    count = 3

    network {
      port "http" {
        to = 8080
      }
      port "https" {
        to = 8443
      }
      port "stats" {
        to = 8081
      }
    }

    service {
      name = "payments"
      port = "http"
      provider = "consul"
      tags = ["shardgate", "gateway-proxy", "role=gateways~payments"]
      # 503 until Envoy has its shard's first config, and again once a drain starts.
      check {
        name = "ready"
        type = "http"
        port = "stats"
        path = "/ready"
        interval = "5s"
        timeout = "2s"
      }
    }

    service {
      name = "payments-https"
      port = "https"
      provider = "consul"
      tags = ["shardgate", "gateway-proxy", "role=gateways~payments"]
      # 503 until Envoy has its shard's first config, and again once a drain starts.
      check {
        name = "ready"
        type = "http"
        port = "stats"
        path = "/ready"
        interval = "5s"
        timeout = "2s"
      }
    }

    task "envoy" {
      driver = "docker"
      # Envoy exits at once on a signal; the wrapper (local/run-envoy.sh) first drains it, so Nomad
      # waits kill_timeout for that before it kills the task.
      kill_signal = "SIGTERM"
      kill_timeout = "40s"

      config {
        image = "envoyproxy/envoy:v1.40.0"
        ports = ["http", "https", "stats"]
        # The envoy user of the envoyproxy/envoy image, as in the chart.
        user = "101:101"
        entrypoint = ["/bin/bash", "/local/run-envoy.sh"]
        args = ["$${NOMAD_JOB_NAME}.$${NOMAD_ALLOC_ID}", "--log-level", "info"]
      }

      template {
        destination = "local/run-envoy.sh"
        perms = "0755"
        change_mode = "restart"
        data = <<EOF_SCRIPT
#!/bin/bash
# Starts Envoy with the shard's bootstrap; on SIGTERM (the job's kill_signal) drains it first, as the
# chart's preStop hook does, within the job's kill_timeout.
node="$1"
shift
envoy --config-path "$NOMAD_TASK_DIR/envoy.yaml" --service-node "$node" --disable-hot-restart "$@" &
pid=$!
drain() {
  # /ready answers 503 from now on, so the Consul check fails and clients move away.
  exec 3<>/dev/tcp/127.0.0.1/19000 && printf 'POST /healthcheck/fail HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >&3 && cat <&3 >/dev/null
  sleep 25
  kill -TERM "$pid"
}
trap drain TERM
status=0
# wait returns early when the trap runs; keep waiting until Envoy has exited.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
  status=$?
done
exit "$status"
EOF_SCRIPT
      }

      # The bootstrap BootstrapRenderer makes for this shard, with the xDS endpoints filled in by Nomad's
      # Consul template from the passing gloo-xds instances. When they change Envoy restarts
      # (spread by splay) to pick up the new addresses; its shard config comes back over xDS.
      template {
        destination = "local/envoy.yaml"
        change_mode = "restart"
        splay = "30s"
        data = <<EOF_BOOTSTRAP
# Envoy bootstrap of one Shardgate gateway-proxy shard, rendered by io.shardgate.templates.BootstrapRenderer.
# Change the parameters and render again rather than editing this output: the CLI and the Helm chart share it.
node:
  # Values are double-quoted so that names such as "true" or "1e3" stay strings.
  id: "payments.gateways"
  cluster: "gateway"
  metadata:
    # The control plane serves this Envoy the snapshot of the shard named by its role alone, so every
    # replica with the same role gets the same configuration whatever its id.
    role: "gateways~payments"

admin:
  # No access log: admin requests are probes and scrapes, and logging them would only add noise and I/O.
  address:
    socket_address:
      address: "127.0.0.1"
      port_value: 19000

dynamic_resources:
  # Listeners and clusters (and, through them, routes and endpoints) all come over one ADS stream, so the
  # control plane can order updates and Envoy never sees a route to a cluster it does not know yet.
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - envoy_grpc:
        cluster_name: xds_cluster
    # The node (with its role) is only needed to pick the shard; resending it on every request wastes bytes.
    set_node_on_first_message_only: true
  lds_config:
    ads: {}
    resource_api_version: V3
  cds_config:
    ads: {}
    resource_api_version: V3

static_resources:
  listeners:
  # Exposes only readiness and Prometheus metrics, so the admin interface itself (which can change or stop
  # this Envoy) stays on its own address.
  - name: prometheus_listener
    address:
      socket_address:
        address: "0.0.0.0"
        port_value: 8081
    # Probes and scrapes must still get through when the data plane is at its connection limit.
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
  clusters:
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
                address: "127.0.0.1"
                port_value: 19000
  - name: xds_cluster
    # STATIC for an IP address; STRICT_DNS for a name, so that Envoy follows the control plane when the
    # name moves to other addresses.
    type: STATIC
    connect_timeout: 5s
    # Without keepalive, a control plane that vanished behind a load balancer or NAT leaves an idle ADS
    # stream looking healthy, and this Envoy stops receiving configuration without noticing.
    upstream_connection_options:
      tcp_keepalive:
        keepalive_time: 60
    # gRPC needs HTTP/2.
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
    load_assignment:
      cluster_name: xds_cluster
      endpoints:
      - lb_endpoints:
{{- range service "gloo-xds" }}
        - endpoint:
            address:
              socket_address:
                address: "{{ .Address }}"
                port_value: {{ .Port }}
{{- end }}

# Caps connections across all listeners so a flood cannot exhaust file descriptors and memory. Set here rather
# than with the runtime key overload.global_downstream_max_connections, which Envoy deprecates.
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
      # Spelled out so the value does not drift with Envoy's default: below 50% healthy hosts, a cluster
      # spreads load over all hosts rather than overloading the few healthy ones.
      upstream.healthy_panic_threshold: 50
  # Lets an operator change runtime values through the admin /runtime_modify endpoint without a restart.
  - name: admin_layer
    admin_layer: {}
EOF_BOOTSTRAP
      }

      resources {
        cpu = 100
        memory = 1024
      }
    }
  }
}
