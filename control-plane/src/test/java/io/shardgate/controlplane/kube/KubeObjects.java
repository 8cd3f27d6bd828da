package io.shardgate.controlplane.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.util.ArrayList;
import java.util.List;

/**
 * Writing objects to the real API server the way {@code kubectl apply --server-side} does, from YAML text, for the
 * tests and the benchmark that drive the Kubernetes mode: any kind (Gloo CRDs, Services, EndpointSlices, Namespaces,
 * RBAC) as a {@link GenericKubernetesResource}, so a test reads like the manifests a user applies.
 *
 * <p>Stateless; thread-safe as far as the client is.
 */
public final class KubeObjects {

  private static final String FIELD_MANAGER = "shardgate-tests";

  private KubeObjects() {}

  /** Applies every document of {@code yaml} (server-side apply, conflicts forced); returns what the server stored. */
  public static List<GenericKubernetesResource> apply(KubernetesClient client, String yaml) {
    List<GenericKubernetesResource> stored = new ArrayList<>();
    for (String document : yaml.split("(?m)^---\\s*$")) {
      if (document.isBlank()) {
        continue;
      }
      GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(document,
          GenericKubernetesResource.class);
      stored.add(resource(client, r).fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply());
    }
    return stored;
  }

  /** Deletes every object {@code yaml} names (its kind, namespace and name; the rest is ignored). */
  public static void delete(KubernetesClient client, String yaml) {
    for (String document : yaml.split("(?m)^---\\s*$")) {
      if (!document.isBlank()) {
        GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(document,
            GenericKubernetesResource.class);
        resource(client, r).delete();
      }
    }
  }

  /** Creates the namespaces that do not exist yet. */
  public static void namespaces(KubernetesClient client, String... names) {
    for (String name : names) {
      if (client.namespaces().withName(name).get() == null) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
            .create();
      }
    }
  }

  /** A Gateway of shard {@code proxy} on 127.0.0.1:{@code port}, selecting VirtualServices labelled {@code shard}. */
  public static String gateway(String name, String proxy, String shard, int port) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata:
          name: %s
          namespace: gloo-system
        spec:
          bindAddress: 127.0.0.1
          bindPort: %d
          proxyNames: [%s]
          httpGateway:
            virtualServiceSelector:
              shard: %s
        """.formatted(name, port, proxy, shard);
  }

  /**
   * An EndpointSlice of {@code service} named {@code name}, as the EndpointSlice controller writes one: port
   * {@code http} at {@code port}, every address ready.
   */
  public static String readyEndpointSlice(String namespace, String name, String service, int port,
      List<String> addresses) {
    StringBuilder endpoints = new StringBuilder();
    for (String address : addresses) {
      endpoints.append("""
          - addresses: ["%s"]
            conditions:
              ready: true
          """.formatted(address));
    }
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: %s
          namespace: %s
          labels:
            kubernetes.io/service-name: %s
        addressType: IPv4
        ports:
        - name: http
          port: %d
          protocol: TCP
        endpoints:
        %s""".formatted(name, namespace, service, port, endpoints);
  }

  /** The object's resource: in its namespace, or cluster-wide for kinds without one (a Namespace). */
  private static Resource<GenericKubernetesResource> resource(KubernetesClient client, GenericKubernetesResource r) {
    MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
        kind = client.genericKubernetesResources(r.getApiVersion(), r.getKind());
    String namespace = r.getMetadata().getNamespace();
    return namespace == null ? kind.resource(r) : kind.inNamespace(namespace).resource(r);
  }
}
